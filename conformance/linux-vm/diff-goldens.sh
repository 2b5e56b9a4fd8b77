#!/usr/bin/env bash
# Print the steps whose result differs between golden files (default: conformance/golden/*.json).
#
#   conformance/linux-vm/diff-goldens.sh [--all-fields] [GOLDEN.json...]
#
# A step is keyed by (file, line). By default the out fields that only describe the setup (group_flags, api,
# mig_*, caps, cap_offset, flags) are left out, so that what remains are the map/unmap rule differences.
# With --all-fields every field counts. Needs jq (apt-get install jq).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALLF=false
FILES=()
for a in "$@"; do
    case "$a" in
        --all-fields) ALLF=true ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) FILES+=("$a") ;;
    esac
done
[ ${#FILES[@]} -gt 0 ] || FILES=("$HERE"/../golden/*.json)
command -v jq >/dev/null || { echo "diff-goldens.sh: needs jq" >&2; exit 1; }

jq -r -n --argjson all "$ALLF" '
  def skip: ["group_flags", "api", "mig_flags", "mig_pgsizes", "mig_max_bitmap", "caps", "cap_offset", "flags"];
  def show($s): ($s.errno + " " + ([$s.out | to_entries[]
      | select($all or ((.key as $k | skip | index($k)) == null)) | "\(.key)=\(.value)"] | join(" ")));
  [inputs | { name: "\(.kernel)-\(.iommu)", steps: (.steps | map({ key: "\(.file):\(.line)", value: . }) | from_entries) }]
  | . as $runs
  | ($runs[0].steps | keys_unsorted) as $keys
  | $keys[]
  | . as $k
  | [$runs[] | { name, s: .steps[$k] }]
  | select([.[] | if .s then show(.s) else "(missing)" end] | unique | length > 1)
  | "\($k)  \(.[0].s.step)", (.[] | "    \(.name | . + " " * (16 - length)) \(if .s then show(.s) else "(missing)" end)")
' "${FILES[@]}"
