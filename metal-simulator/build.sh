#!/usr/bin/env bash
# Builds the Metal simulator: bash metal-simulator/build.sh [OUTPUT_DIR]  (default: metal-simulator/target)
# Needs clang, the GCC Objective-C runtime and libBlocksRuntime:
#   apt-get install clang libobjc-12-dev libblocksruntime-dev
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/target}"
mkdir -p "$out"
missing=()
command -v clang >/dev/null || missing+=(clang)
objc_header="$(ls -d /usr/lib/gcc/*/*/include/objc/objc.h 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$objc_header" ] || missing+=(libobjc-12-dev)
[ -e /usr/include/Block.h ] || missing+=(libblocksruntime-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "metal-simulator: cannot build, missing: ${missing[*]} (apt-get install clang libobjc-12-dev libblocksruntime-dev)" >&2
  exit 1
fi
gcc_dir="$(dirname "$(dirname "$(dirname "$objc_header")")")"
# -idirafter: the GCC directory also holds GCC's own <stdatomic.h> etc., which must not shadow clang's.
clang -shared -fPIC -fobjc-runtime=gcc -fblocks -O2 -g -Wall -Werror -Wno-objc-root-class -Wno-objc-missing-super-calls \
  -idirafter "$gcc_dir/include" -L"$gcc_dir" \
  -o "$out/libbackplane-metal-sim.so" "$here/src/main/objc/metal_simulator.m" \
  -lobjc -lBlocksRuntime -lpthread -lm
echo "metal-simulator: built $out/libbackplane-metal-sim.so"
