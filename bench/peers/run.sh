#!/usr/bin/env bash
# Side-by-side C peers for IommuKit's benchmarks (issue 6). Not part of CI: it installs packages and takes a few
# minutes. On Debian 12 (or any apt system with a linux-source package):
#   bench/peers/run.sh              # install what is missing, build both peers, run them and IommuKit, print the table
#   bench/peers/run.sh --no-install # fail instead of calling apt-get
# Environment: IOMMUKIT_PEERS_CACHE (default ~/.cache/iommukit-peers) holds the extracted kernel files and binaries;
# nothing from the kernel or GLib is written into the repository.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${IOMMUKIT_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommukit-peers}"
install=1
[[ "${1:-}" == "--no-install" ]] && install=0

say() { printf '%s\n' "$*" >&2; }

# 1. Packages: a kernel source tarball, GLib headers, a C compiler.
# (Debian 12's linux-source depends on the current linux-source-6.1; any installed linux-source-* tarball will do.)
packages=(libglib2.0-dev gcc libc6-dev pkg-config xz-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
compgen -G "/usr/src/linux-source-*.tar.*" >/dev/null || missing+=(linux-source)
if ((${#missing[@]})); then
    if ((!install)); then
        say "missing packages: ${missing[*]}"; exit 1
    fi
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    say "installing ${missing[*]} with apt-get (the kernel source package is about 130 MB)"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v dotnet >/dev/null || { say "dotnet not found: install the .NET SDK named in global.json"; exit 1; }

# 2. The three kernel files, extracted once into the cache (the newest linux-source tarball installed).
tarball="$(ls -1 /usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$tarball" ]] || { say "no /usr/src/linux-source-*.tar.* found"; exit 1; }
top="$(basename "$tarball")"; top="${top%%.tar.*}"
mkdir -p "$cache"
if [[ ! -f "$cache/$top/drivers/iommu/io-pgtable-arm.c" ]]; then
    say "extracting io-pgtable-arm from $tarball into $cache"
    tar -C "$cache" -xaf "$tarball" \
        "$top/drivers/iommu/io-pgtable-arm.c" "$top/drivers/iommu/io-pgtable-arm.h" "$top/include/linux/io-pgtable.h"
fi

# 3. Build. The kernel include dir holds only io-pgtable.h; every other kernel header comes from shim/.
cc="${CC:-gcc}"
cflags=(-O2 -g0 -Wall -Wno-unused-function)
say "building the peers ($top, $(pkg-config --modversion glib-2.0 | sed 's/^/GLib /'))"
"$cc" "${cflags[@]}" -I "$here/shim" -I "$cache/$top/include" -o "$cache/pgtable-peer" \
    "$here/pgtable_peer.c" "$cache/$top/drivers/iommu/io-pgtable-arm.c"
# shellcheck disable=SC2046
"$cc" "${cflags[@]}" -o "$cache/gtree-peer" "$here/gtree_peer.c" $(pkg-config --cflags --libs glib-2.0)

# 4. Run: the C peers, then IommuKit's --peers mode (same workloads, same CPU-time measure).
say "running io-pgtable-arm peer"
c_out="$("$cache/pgtable-peer")"
say "running GTree peer"
c_out+=$'\n'"$("$cache/gtree-peer")"
say "running IommuKit (--peers)"
cs_out="$(cd "$repo" && dotnet run -c Release --project bench/IommuKit.Benchmarks -- --peers 2>/dev/null | grep -E '^[a-z0-9_]+ [0-9.]+$')"

# 5. One table: operation, C ns/op, IommuKit ns/op, ratio IommuKit / C (below 1: IommuKit is faster).
{
    printf '%s\n' "$c_out" | sed 's/^/C /'
    printf '%s\n' "$cs_out" | sed 's/^/K /'
} | awk '
function label(k) {
    if (k == "map4k_seq") return "map 1x4K, sequential, 1M pages (io-pgtable-arm)";
    if (k == "map4k_random") return "map 1x4K, random order, 1M pages (io-pgtable-arm)";
    if (k == "unmap4k_seq") return "unmap 1x4K, sequential, 1M pages (io-pgtable-arm)";
    if (k == "walk4k") return "iova_to_phys, 4-level walk, tables in cache";
    if (k == "map256") return "map 256x4K in one call (64 empty 2M regions)";
    if (k == "unmap256") return "unmap 256x4K in one call (64 mapped regions)";
    if (k == "mapunmap256") return "map + unmap 256x4K, one call each";
    if (k == "gtree_insert") return "range map insert at 1M (GTree)";
    if (k == "gtree_find") return "range map lookup at 1M, random (GTree)";
    if (k == "gtree_remove") return "range map remove at 1M (GTree)";
    if (k == "gtree_firstfit") return "first-fit 4K allocation at 1M (GTree walk)";
    if (k == "gtree_reverse") return "reverse lookup pa->iova at 1M (GTree walk)";
    return k;
}
$1 == "C" { c[$2] = $3; order[n++] = $2 }
$1 == "K" { k[$2] = $3 }
END {
    printf "%-52s %14s %14s %10s\n", "operation", "C ns/op", "IommuKit ns/op", "ratio";
    for (i = 0; i < n; i++) {
        key = order[i];
        kv = (key in k) ? sprintf("%.2f", k[key]) : "-";
        r = (key in k && c[key] > 0) ? sprintf("%.3f", k[key] / c[key]) : "-";
        printf "%-52s %14.2f %14s %10s\n", label(key), c[key], kv, r;
    }
}'
say "ratio = IommuKit / C (below 1: IommuKit is faster). CPU time per operation, best of 3 rounds; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
