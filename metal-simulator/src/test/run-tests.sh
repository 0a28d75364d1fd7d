#!/usr/bin/env bash
# Builds the Metal simulator and its standalone test (not Maven), then runs the test twice against a
# fresh compile cache: once compiling the MSL, once loading it from the cache, with overhead figures.
#   bash metal-simulator/src/test/run-tests.sh [OUTPUT_DIR]   (default: metal-simulator/target/native-test)
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$here/target/native-test}"
mkdir -p "$out"
bash "$here/build.sh" "$out"
objc_header="$(ls -d /usr/lib/gcc/*/*/include/objc/objc.h 2>/dev/null | sort -V | tail -1)"
gcc_dir="$(dirname "$(dirname "$(dirname "$objc_header")")")"
clang -fblocks -O1 -g -Wall -Werror -I"$here/src/main/objc" -o "$out/sim_test" "$here/src/test/c/sim_test.c" \
  -L"$out" -lbackplane-metal-sim -Wl,-rpath,"$out" -L"$gcc_dir" -lobjc -lBlocksRuntime -lpthread -lm
cache="$(mktemp -d "${TMPDIR:-/tmp}/bpsim-test-cache.XXXXXX")"
trap 'rm -rf "$cache"' EXIT
kernels="$repo/metal-backend-bundle/src/main/resources/org/backplane/metal/internal/backplane_kernels.metal"
echo "== run 1: empty compile cache"
BPSIM_CACHE_DIR="$cache" "$out/sim_test" "$kernels"
echo "== run 2: compile cache filled, with overhead figures"
BPSIM_CACHE_DIR="$cache" "$out/sim_test" "$kernels" --bench
