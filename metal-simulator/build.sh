#!/usr/bin/env bash
# Builds the Metal simulator: bash metal-simulator/build.sh [OUTPUT_DIR]  (default: metal-simulator/target)
# Needs clang (and clang++ with libstdc++ at run time: the simulator compiles MSL as C++), the GCC
# Objective-C runtime and libBlocksRuntime:
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
command -v clang++ >/dev/null || missing+=(clang++)
[ -n "$(ls -d /usr/include/c++/* 2>/dev/null)" ] || missing+=(libstdc++-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "metal-simulator: cannot build, missing: ${missing[*]} (apt-get install clang libobjc-12-dev libblocksruntime-dev;" \
    "clang++ and libstdc++ are needed at run time too: the simulator compiles MSL as C++)" >&2
  exit 1
fi
gcc_dir="$(dirname "$(dirname "$(dirname "$objc_header")")")"
shim="$here/src/main/cpp/msl_shim.h"
# Compiled kernels are cached by a key that covers this hash: a changed simulator compiles them again.
build_id="$(cat "$here"/src/main/objc/* "$here"/src/main/c/* "$shim" | sha256sum | cut -c1-32)"
case "$shim" in *'"'*|*'\'*) echo "metal-simulator: the path $shim cannot be embedded" >&2; exit 1;; esac
# The MSL shim is embedded in the library (.incbin), so that the library needs no file beside it; a
# copy goes beside it for reading.
# -idirafter: the GCC directory also holds GCC's own <stdatomic.h> etc., which must not shadow clang's.
clang -shared -fPIC -fobjc-runtime=gcc -fblocks -O2 -g -Wall -Werror -Wno-objc-root-class -Wno-objc-missing-super-calls \
  -idirafter "$gcc_dir/include" -L"$gcc_dir" -I"$here/src/main/objc" -I"$here/src/main/c" \
  -DBPSIM_SHIM_PATH="\"$shim\"" -DBPSIM_BUILD_ID="\"$build_id\"" \
  -o "$out/libbackplane-metal-sim.so.tmp" "$here/src/main/objc/metal_simulator.m" \
  -x c "$here/src/main/c/bpsim_msl.c" "$here/src/main/c/bpsim_exec.c" \
  -lobjc -lBlocksRuntime -lpthread -ldl -lm
mv -f "$out/libbackplane-metal-sim.so.tmp" "$out/libbackplane-metal-sim.so"
cp -f "$shim" "$out/msl_shim.h"
echo "metal-simulator: built $out/libbackplane-metal-sim.so"
