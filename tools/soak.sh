#!/usr/bin/env bash
# Soak: random operations against a naive reference model, random seed, progress every second.
#   tools/soak.sh [ops] [seed]                  type1 model (VFIO container), 10^6 operations by default
#   tools/soak.sh type1|iommufd [ops] [seed]    the named model (iommufd: the IOAS ioctls and the VFIO compat layer)
#   tools/soak.sh all [ops]                     every model in turn, each with its own random seed
# On a divergence it prints the CsCheck seed (replay: tools/soak.sh MODEL OPS SEED) and the shrunk sequence as a
# scenario file (`iommukit run` reproduces it). Exit status: 0 no divergence, 1 divergence, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
model=type1
case "${1:-}" in
    type1|iommufd|all) model=$1; shift ;;
esac
ops=${1:-1000000}
seed=${2:--}
if [[ $model == all ]]; then
    dotnet build -c Release fuzz/IommuKit.Fuzz -v q -nologo
    for m in type1 iommufd; do
        dotnet run -c Release --no-build --project fuzz/IommuKit.Fuzz -- soak "$ops" - "$m"
    done
    exit 0
fi
exec dotnet run -c Release --project fuzz/IommuKit.Fuzz -- soak "$ops" "$seed" "$model"
