#!/usr/bin/env bash
# Run IommuKit conformance step files against real Linux VFIO type1 / iommufd code in a QEMU (TCG) VM.
#
#   conformance/linux-vm/run.sh [options] [STEPFILE...]
#
#   --kernel K     deb61 (Debian's linux-image-amd64, 6.1.x), deb612 (Debian's linux-image-6.12-amd64),
#                  custom612 (Debian's linux-source-6.12 built with IOMMUFD; builds it once, ~5 min of 2 cores)
#                  default: deb612
#   --iommu I      intel (QEMU intel-iommu, 39-bit), intel48 (aw-bits=48), amd (amd-iommu),
#                  virtio (virtio-iommu-pci; not with deb61)        default: intel
#   --all          the default matrix: deb61 x {intel, amd}, deb612 x {intel, virtio}
#   --with-custom  with --all, also custom612 x {intel, virtio}
#   --golden       write the JSON into conformance/golden/ (same as --out conformance/golden)
#   --out DIR      where the <kernel>-<iommu>.json results go      default: $CACHE/results
#   --cache DIR    cache dir            default: ${XDG_CACHE_HOME:-$HOME/.cache}/iommukit-conformance
#   --refresh      look up the newest Debian kernel packages again (otherwise cached ones are reused)
#   --timeout S    seconds per boot     default: 300
#   STEPFILE...    step files to run    default: conformance/linux-vm/steps/*.steps
#
# Needs: Debian 12, root (apt-get), about 1.5 GB of cache (6 GB more for custom612).
# Installs with apt-get: qemu-system-x86 kmod cpio xz-utils zstd gcc libc6-dev (plus kernel build tools for custom612).
# Kernels, busybox and headers are fetched with `apt-get download` and unpacked with `dpkg -x` under the cache:
# nothing is installed into /boot. See conformance/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$(dirname "$HERE")
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/iommukit-conformance
OUT=""
KERNEL=deb612
IOMMU=intel
ALL=0
WITH_CUSTOM=0
REFRESH=0
TIMEOUT=300
STEPS=()

die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "run.sh: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) KERNEL=${2:?}; shift 2 ;;
        --iommu) IOMMU=${2:?}; shift 2 ;;
        --all) ALL=1; shift ;;
        --with-custom) WITH_CUSTOM=1; shift ;;
        --golden) OUT=$CONF/golden; shift ;;
        --out) OUT=${2:?}; shift 2 ;;
        --cache) CACHE=${2:?}; shift 2 ;;
        --refresh) REFRESH=1; shift ;;
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) STEPS+=("$1"); shift ;;
    esac
done
[ -n "$OUT" ] || OUT=$CACHE/results
if [ ${#STEPS[@]} -eq 0 ]; then
    STEPS=("$HERE"/steps/*.steps)
fi
for s in "${STEPS[@]}"; do
    [ -f "$s" ] || die "no such step file: $s"
done
dups=$(for s in "${STEPS[@]}"; do basename "$s"; done | sort | uniq -d)
[ -z "$dups" ] || die "step file names must be unique: $dups"
mkdir -p "$CACHE" "$OUT"
OUT=$(cd "$OUT" && pwd)

# ------------------------------------------------------------------------------------------ apt
# A flag file, not a variable: the helpers below also run in $(...) subshells.
APT_FLAG=$(mktemp)
trap 'rm -f "$APT_FLAG"' EXIT
apt_update_once() {
    if [ ! -s "$APT_FLAG" ]; then
        log "apt-get update"
        apt-get update -qq
        echo done > "$APT_FLAG"
    fi
}

# apt_install PKG...: install the packages that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# apt_download PKG: fetch PKG's .deb into $CACHE/debs (once) and print its path.
apt_download() {
    local pkg=$1 deb
    mkdir -p "$CACHE/debs"
    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
    if [ -z "$deb" ]; then
        apt_update_once
        log "apt-get download $pkg"
        (cd "$CACHE/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null)
        deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
        [ -n "$deb" ] || die "apt-get download $pkg gave no .deb"
    fi
    echo "$deb"
}

# resolve_image META: the unsigned image package behind a Debian meta package, e.g.
# linux-image-amd64 -> linux-image-6.1.0-56-amd64-unsigned.
resolve_image() {
    local meta=$1 dep
    apt_update_once
    dep=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$dep" ] || die "cannot resolve $meta with apt-cache"
    apt-cache show "$dep-unsigned" >/dev/null 2>&1 || die "no package $dep-unsigned"
    echo "$dep-unsigned"
}

# ------------------------------------------------------------------------------------------ tools
host_tools() {
    apt_install qemu-system-x86 kmod cpio xz-utils zstd gcc libc6-dev
}

BUSYBOX=$CACHE/busybox/bin/busybox
get_busybox() {
    [ -x "$BUSYBOX" ] && return 0
    local deb
    deb=$(apt_download busybox-static)
    rm -rf "$CACHE/busybox" && mkdir -p "$CACHE/busybox"
    dpkg -x "$deb" "$CACHE/busybox"
    [ -x "$BUSYBOX" ] || die "busybox-static has no bin/busybox"
}

# ------------------------------------------------------------------------------------------ kernels
# Each prepared kernel lives in $CACHE/k/<name>/: image (the kernel to boot), release (uname -r),
# mods/*.ko (decompressed) and modules.list (load order, file names relative to mods/).

# prepare_debian NAME META
prepare_debian() {
    local name=$1 meta=$2 d=$CACHE/k/$1 pkg deb rel m
    if [ -f "$d/ready" ] && [ "$REFRESH" = 0 ]; then
        return 0
    fi
    pkg=$(resolve_image "$meta")
    log "$name: $pkg"
    deb=$(apt_download "$pkg")
    rm -rf "$d" && mkdir -p "$d/mods"
    dpkg -x "$deb" "$d/root"
    for m in "$d"/root/lib/modules/* "$d"/root/usr/lib/modules/*; do
        [ -d "$m" ] && rel=${m##*/}
    done
    [ -n "${rel:-}" ] || die "$pkg: no lib/modules/<release>"
    echo "$rel" > "$d/release"
    cp "$d/root/boot/vmlinuz-$rel" "$d/image"
    echo "$pkg" > "$d/package"
    depmod -b "$d/root" "$rel"
    # Load order from modprobe's own dependency resolution (6.1 also needs vfio_virqfd, which a hand-written
    # list misses). virtio_iommu only exists in kernels that build it as a module.
    local want=(vfio-pci)
    if modprobe -d "$d/root" -S "$rel" -R virtio_iommu >/dev/null 2>&1; then
        want+=(virtio_iommu)
    fi
    : > "$d/modules.list"
    local line path base
    for m in "${want[@]}"; do
        modprobe -d "$d/root" -S "$rel" --show-depends "$m" | while read -r line; do
            case "$line" in
                insmod\ *)
                    path=$(echo "$line" | awk '{ print $2 }')
                    [ -f "$path" ] || path=$d/root$path
                    base=$(basename "$path")
                    base=${base%.xz}
                    base=${base%.zst}
                    grep -qx "$base" "$d/modules.list" && continue
                    case "$path" in
                        *.xz) xz -dc "$path" > "$d/mods/$base" ;;
                        *.zst) zstd -qdc "$path" > "$d/mods/$base" ;;
                        *) cp "$path" "$d/mods/$base" ;;
                    esac
                    echo "$base" >> "$d/modules.list"
                    ;;
            esac
        done
    done
    [ -s "$d/modules.list" ] || die "$name: no modules found for vfio-pci"
    log "$name: release $rel, modules: $(tr '\n' ' ' < "$d/modules.list")"
    rm -rf "$d/root/usr/share" "$d/root/usr/lib/firmware" 2>/dev/null || true
    touch "$d/ready"
}

# prepare_custom612: Debian's linux-source-6.12 with IOMMUFD, VFIO_DEVICE_CDEV and THP, no modules.
prepare_custom612() {
    local d=$CACHE/k/custom612 deb tarball src=$CACHE/custom612/src bld=$CACHE/custom612/build
    [ -f "$d/ready" ] && return 0
    apt_install make bc flex bison libelf-dev libssl-dev perl xz-utils
    deb=$(apt_download linux-source-6.12)
    mkdir -p "$CACHE/custom612"
    if [ ! -f "$src/Makefile" ]; then
        rm -rf "$CACHE/custom612/pkg" "$src"
        dpkg -x "$deb" "$CACHE/custom612/pkg"
        tarball=$(find "$CACHE/custom612/pkg/usr/src" -maxdepth 1 -name 'linux-source-*.tar.xz' | head -1)
        [ -n "$tarball" ] || die "linux-source-6.12 has no tarball"
        log "custom612: extracting $(basename "$tarball")"
        mkdir -p "$src"
        tar -xJf "$tarball" -C "$src" --strip-components=1
        rm -rf "$CACHE/custom612/pkg"
    fi
    mkdir -p "$bld"
    make -s -C "$src" O="$bld" x86_64_defconfig >/dev/null
    local cfg=("$src/scripts/config" --file "$bld/.config")
    "${cfg[@]}" --set-str LOCALVERSION "-iommukit" -d LOCALVERSION_AUTO
    local on=(PCI PCI_MSI VIRTIO VIRTIO_MENU VIRTIO_PCI VIRTIO_IOMMU IOMMU_SUPPORT INTEL_IOMMU AMD_IOMMU IRQ_REMAP
        X86_X2APIC VFIO VFIO_GROUP VFIO_CONTAINER VFIO_IOMMU_TYPE1 VFIO_PCI VFIO_PCI_CORE IOMMUFD VFIO_DEVICE_CDEV
        DEVTMPFS DEVTMPFS_MOUNT BLK_DEV_INITRD RD_GZIP SERIAL_8250 SERIAL_8250_CONSOLE TRANSPARENT_HUGEPAGE
        TRANSPARENT_HUGEPAGE_ALWAYS PVH)
    local off=(IOMMUFD_VFIO_CONTAINER MODULES NET DRM SOUND USB_SUPPORT SCSI ATA EXT4_FS NETWORK_FILESYSTEMS KVM
        VIRTUALIZATION DEBUG_INFO DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_BTF SECURITY WLAN WIRELESS INPUT_TOUCHSCREEN
        HID MEDIA_SUPPORT FB AGP)
    local o
    for o in "${on[@]}"; do "${cfg[@]}" -e "$o"; done
    for o in "${off[@]}"; do "${cfg[@]}" -d "$o"; done
    "${cfg[@]}" -d VFIO_NOIOMMU
    make -s -C "$src" O="$bld" olddefconfig >/dev/null
    for o in IOMMUFD VFIO_DEVICE_CDEV VFIO_IOMMU_TYPE1 VFIO_PCI TRANSPARENT_HUGEPAGE VIRTIO_IOMMU INTEL_IOMMU; do
        grep -q "^CONFIG_$o=y" "$bld/.config" || die "custom612: CONFIG_$o did not survive olddefconfig"
    done
    grep -q "^CONFIG_IOMMUFD_VFIO_CONTAINER=y" "$bld/.config" && die "custom612: IOMMUFD_VFIO_CONTAINER is on"
    log "custom612: building bzImage with nice -n 19 make -j2 (about 5 minutes)"
    nice -n 19 make -s -C "$src" O="$bld" -j2 bzImage
    rm -rf "$d" && mkdir -p "$d/mods"
    cp "$bld/arch/x86/boot/bzImage" "$d/image"
    make -s -C "$src" O="$bld" kernelrelease > "$d/release"
    cp "$bld/.config" "$d/config"
    : > "$d/modules.list"
    echo linux-source-6.12 > "$d/package"
    touch "$d/ready"
}

prepare_kernel() {
    case "$1" in
        deb61) prepare_debian deb61 linux-image-amd64 ;;
        deb612) prepare_debian deb612 linux-image-6.12-amd64 ;;
        custom612) prepare_custom612 ;;
        *) die "unknown kernel $1 (deb61, deb612, custom612)" ;;
    esac
}

# ------------------------------------------------------------------------------------------ vfiotest
# The UAPI headers come from the 6.12 kernel headers package (linux-headers-<ver>-common) that matches
# Debian's linux-image-6.12-amd64; only include/uapi/linux/{vfio,iommufd}.h are kept.
UAPI=$CACHE/uapi
VFIOTEST=$CACHE/build/vfiotest
get_uapi() {
    [ -f "$UAPI/linux/iommufd.h" ] && [ -f "$UAPI/linux/vfio.h" ] && return 0
    local img hdr deb tmp
    img=$(resolve_image linux-image-6.12-amd64)
    hdr=${img#linux-image-}
    hdr=linux-headers-${hdr%-amd64-unsigned}-common
    deb=$(apt_download "$hdr")
    tmp=$CACHE/tmp-headers
    rm -rf "$tmp" && dpkg -x "$deb" "$tmp"
    mkdir -p "$UAPI/linux"
    cp "$tmp"/usr/src/linux-headers-*/include/uapi/linux/vfio.h "$tmp"/usr/src/linux-headers-*/include/uapi/linux/iommufd.h \
        "$UAPI/linux/"
    rm -rf "$tmp"
}

build_vfiotest() {
    get_uapi
    mkdir -p "$CACHE/build"
    local sum
    sum=$(cat "$HERE/vfiotest.c" "$UAPI/linux/vfio.h" "$UAPI/linux/iommufd.h" | sha256sum | cut -d' ' -f1)
    if [ -x "$VFIOTEST" ] && [ "$(cat "$VFIOTEST.sum" 2>/dev/null)" = "$sum" ]; then
        return 0
    fi
    log "building vfiotest"
    gcc -O2 -Wall -Wextra -Werror -static -D__user= -I"$UAPI" -o "$VFIOTEST" "$HERE/vfiotest.c"
    echo "$sum" > "$VFIOTEST.sum"
}

# ------------------------------------------------------------------------------------------ boot
# cpio_gz DIR FILE: pack DIR as a gzip'd newc archive.
cpio_gz() {
    (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 -n) > "$2"
}

# run_one KERNEL IOMMU: boot once, run every step file, write $OUT/KERNEL-IOMMU.json.
run_one() {
    local kernel=$1 iommu=$2 d=$CACHE/k/$1 rd=$CACHE/run/$1-$2
    local dev append modparams=""
    append="console=ttyS0 iommu=strict panic=-1 loglevel=6"
    case "$iommu" in
        intel) dev="-device intel-iommu,intremap=on,caching-mode=on"; append+=" intel_iommu=on" ;;
        intel48) dev="-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48"; append+=" intel_iommu=on" ;;
        amd) dev="-device amd-iommu,intremap=on" ;;
        virtio)
            [ "$kernel" = deb61 ] && die "Debian 6.1 has no virtio-iommu driver (CONFIG_VIRTIO_IOMMU is not set)"
            dev="-device virtio-iommu-pci"
            # virtio-iommu has no interrupt remapping: without these, VFIO_SET_IOMMU gives EPERM.
            append+=" vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"
            modparams="vfio_iommu_type1 allow_unsafe_interrupts=1"
            ;;
        *) die "unknown iommu $iommu (intel, intel48, amd, virtio)" ;;
    esac
    rm -rf "$rd" && mkdir -p "$rd/base/bin" "$rd/base/lib/modules" "$rd/run/steps"
    cp "$BUSYBOX" "$rd/base/bin/busybox"
    cp "$HERE/init.sh" "$rd/base/init"
    chmod 755 "$rd/base/init"
    cp "$VFIOTEST" "$rd/base/vfiotest"
    cp "$d/modules.list" "$rd/base/modules.list"
    if [ -s "$d/modules.list" ]; then
        cp "$d"/mods/*.ko "$rd/base/lib/modules/"
    fi
    local s
    for s in "${STEPS[@]}"; do cp "$s" "$rd/run/steps/"; done
    [ -z "$modparams" ] || echo "$modparams" > "$rd/run/modparams"
    cpio_gz "$rd/base" "$rd/base.gz"
    cpio_gz "$rd/run" "$rd/run.gz"
    cat "$rd/base.gz" "$rd/run.gz" > "$rd/initrd.gz"
    : > "$rd/results.txt"
    log "booting $kernel ($(cat "$d/release")) with $iommu"
    local t0=$SECONDS rc=0
    # shellcheck disable=SC2086
    timeout "$TIMEOUT" qemu-system-x86_64 -machine q35,kernel-irqchip=split -accel tcg -cpu max -m 1G -smp 1 \
        -display none -monitor none -no-reboot \
        -serial "file:$rd/console.log" -serial "file:$rd/results.txt" \
        -kernel "$d/image" -initrd "$rd/initrd.gz" -append "$append" \
        $dev -device edu < /dev/null > "$rd/qemu.log" 2>&1 || rc=$?
    tr -d '\r' < "$rd/results.txt" > "$rd/results.clean"
    if [ "$rc" != 0 ]; then
        tail -20 "$rd/console.log" >&2 || true
        die "qemu exited with $rc (timeout $TIMEOUT s?); see $rd"
    fi
    if grep -q '^X ' "$rd/results.clean"; then
        grep '^X ' "$rd/results.clean" >&2
        tail -30 "$rd/console.log" >&2
        die "setup failed in the VM; see $rd/console.log"
    fi
    grep -q '^D rc=0$' "$rd/results.clean" || { tail -30 "$rd/console.log" >&2; die "vfiotest did not finish cleanly; see $rd"; }
    log "$kernel-$iommu: $(grep -c '^R ' "$rd/results.clean") steps in $((SECONDS - t0)) s"
    to_json "$kernel" "$iommu" "$(cat "$d/package")" < "$rd/results.clean" > "$OUT/$kernel-$iommu.json"
    log "wrote $OUT/$kernel-$iommu.json"
}

# to_json KERNEL IOMMU PACKAGE < results: the result lines as JSON (values are strings, numbers in hex as printed).
to_json() {
    local qemu
    qemu=$(qemu-system-x86_64 --version | head -1)
    awk -v kernel="$1" -v iommu="$2" -v pkg="$3" -v qemu="$qemu" '
    function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); return s }
    BEGIN { nsteps = 0; nfiles = 0; nres = 0 }
    /^K release=/ { release = substr($0, 11) }
    /^K version=/ { version = substr($0, 11) }
    /^G / { for (i = 2; i <= NF; i++) { split($i, kv, "="); dev[kv[1]] = kv[2] } }
    /^V / { res[nres++] = sprintf("{ \"start\": \"%s\", \"end\": \"%s\", \"type\": \"%s\" }", $2, $3, esc($4)) }
    /^F / {
        file = $2; skip = ""
        if ($3 ~ /^skip=/) { skip = substr($3, 6) }
        files[nfiles++] = sprintf("{ \"file\": \"%s\", \"skipped\": %s }", esc(file), skip == "" ? "null" : "\"" esc(skip) "\"")
    }
    /^R / {
        bar = index($0, " | ")
        head = substr($0, 1, bar - 1); text = substr($0, bar + 3)
        n = split(head, f, " ")
        line = f[2]; ret = substr(f[3], 5); err = substr(f[4], 7)
        outs = ""
        for (i = 5; i <= n; i++) {
            eq = index(f[i], "=")
            outs = outs (outs == "" ? "" : ", ") sprintf("\"%s\": \"%s\"", esc(substr(f[i], 1, eq - 1)), esc(substr(f[i], eq + 1)))
        }
        steps[nsteps++] = sprintf("{ \"file\": \"%s\", \"line\": %d, \"step\": \"%s\", \"ret\": %d, \"errno\": \"%s\", \"out\": { %s } }",
            esc(file), line, esc(text), ret, err, outs)
    }
    END {
        printf "{\n  \"kernel\": \"%s\",\n  \"package\": \"%s\",\n  \"release\": \"%s\",\n  \"version\": \"%s\",\n", kernel, esc(pkg), esc(release), esc(version)
        printf "  \"iommu\": \"%s\",\n  \"qemu\": \"%s\",\n", iommu, esc(qemu)
        printf "  \"device\": { \"bdf\": \"%s\", \"group\": \"%s\", \"group_type\": \"%s\", \"reserved\": [", dev["bdf"], dev["group"], dev["type"]
        for (i = 0; i < nres; i++) printf "%s%s", (i ? ", " : " "), res[i]
        printf " ] },\n  \"files\": [\n"
        for (i = 0; i < nfiles; i++) printf "    %s%s\n", files[i], (i < nfiles - 1 ? "," : "")
        printf "  ],\n  \"steps\": [\n"
        for (i = 0; i < nsteps; i++) printf "    %s%s\n", steps[i], (i < nsteps - 1 ? "," : "")
        printf "  ]\n}\n"
    }'
}

# ------------------------------------------------------------------------------------------ main
MATRIX=()
if [ "$ALL" = 1 ]; then
    MATRIX=(deb61:intel deb61:amd deb612:intel deb612:virtio)
    [ "$WITH_CUSTOM" = 0 ] || MATRIX+=(custom612:intel custom612:virtio)
else
    MATRIX=("$KERNEL:$IOMMU")
fi

host_tools
get_busybox
build_vfiotest
# Parse every step file on the host first: a typo must not cost a boot.
"$VFIOTEST" -n "${STEPS[@]}" > "$CACHE/build/parse.log" || { grep '^P ' "$CACHE/build/parse.log" >&2; die "step files do not parse"; }
for kv in "${MATRIX[@]}"; do
    prepare_kernel "${kv%%:*}"
done
for kv in "${MATRIX[@]}"; do
    run_one "${kv%%:*}" "${kv#*:}"
done
