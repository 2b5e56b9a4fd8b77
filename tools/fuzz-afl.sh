#!/usr/bin/env bash
# Coverage-guided fuzzing of the scenario parser + runner with AFL++ and SharpFuzz (see fuzz/README.md).
# Needs: afl-fuzz (apt-get install afl++) and the sharpfuzz tool (dotnet tool install --global SharpFuzz.CommandLine).
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/fuzz
dotnet publish fuzz/IommuKit.Fuzz -c Release -o "$out"
sharpfuzz "$out/IommuKit.dll"
mkdir -p out/fuzz-in
find scenarios -name '*.yaml' -exec cp {} out/fuzz-in/ \;
export AFL_SKIP_BIN_CHECK=1
exec afl-fuzz -i out/fuzz-in -o out/fuzz-findings -t 10000 -m none -- "$out/IommuKit.Fuzz" afl
