#!/bin/busybox sh
# /init of the conformance initramfs (busybox sh), written by run.sh into the base archive.
# Loads the modules listed in /modules.list (with parameters from /modparams), binds the QEMU edu
# device to vfio-pci, and runs /vfiotest over /steps/*.steps. Everything meant for the host parser
# goes to the second serial port (/dev/ttyS1); the console (ttyS0) gets diagnostics only.
# Line kinds written to ttyS1 (see ../README.md, "Result lines"):
#   K key=value        kernel facts (release, version, cmdline)
#   G bdf=.. group=.. type=..   the edu device and its IOMMU group
#   V start end type   one reserved region of that group
#   F/R/P/E            from vfiotest
#   X message          fatal setup failure (the run is invalid)
#   D rc=N             vfiotest finished with exit status N
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin

out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
say() { echo "$*" > $out; }
fail() {
    say "X $*"
    echo "init: FAIL: $*"
    dmesg | tail -40
    poweroff -f
}

say "K release=$(uname -r)"
say "K version=$(uname -v)"

if [ -s /modules.list ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        name=$(basename "$m" .ko | tr - _)
        params=""
        if [ -f /modparams ]; then
            params=$(grep "^$name " /modparams | cut -d' ' -f2-)
        fi
        # shellcheck disable=SC2086
        insmod "/lib/modules/$m" $params || fail "insmod $m $params"
    done < /modules.list
fi

bdf=""
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
        bdf=${d##*/}
    fi
done
[ -n "$bdf" ] || fail "no edu device (1234:11e8)"
dev=/sys/bus/pci/devices/$bdf
echo vfio-pci > "$dev/driver_override"
echo "$bdf" > /sys/bus/pci/drivers_probe
[ -e "$dev/iommu_group" ] || fail "$bdf has no IOMMU group"
g=$(readlink "$dev/iommu_group")
g=${g##*/}
say "G bdf=$bdf group=$g type=$(cat /sys/kernel/iommu_groups/"$g"/type 2>/dev/null)"
while read -r s e t; do
    say "V $s $e $t"
done < /sys/kernel/iommu_groups/"$g"/reserved_regions
[ -e "/dev/vfio/$g" ] || fail "no /dev/vfio/$g (vfio-pci did not bind)"

cdev=/dev/vfio/devices/vfio0
for c in "$dev"/vfio-dev/vfio*; do
    [ -e "$c" ] && cdev=/dev/vfio/devices/${c##*/}
done

/vfiotest -g "$g" -d "$bdf" -c "$cdev" /steps/*.steps > $out 2>/dev/console
say "D rc=$?"
echo "init: done"
dmesg | grep -iE 'vfio|iommu|dmar|amd-vi|virtio' | tail -40
poweroff -f
