#!/usr/bin/env bash
# Soak: 10^6 random type1 operations against the naive reference model, random seed, progress every second.
# On a divergence it prints the CsCheck seed (replay: tools/soak.sh 1000000 SEED) and the shrunk sequence as a
# scenario file. Usage: tools/soak.sh [ops] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project fuzz/IommuKit.Fuzz -- soak "${1:-1000000}" ${2:+"$2"}
