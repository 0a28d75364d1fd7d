#!/usr/bin/env bash
# Regenerates the committed PTX from src/main/cuda/backplane_kernels.cu (needs nvcc). The first line
# of the PTX records the SHA-256 of the source it came from; a unit test fails when they differ, so
# CI (which has no GPU) still proves that the PTX is current.
set -euo pipefail
cd "$(dirname "$0")"
src=src/main/cuda/backplane_kernels.cu
out=src/main/resources/org/backplane/cuda/internal/backplane_kernels.ptx
mkdir -p "$(dirname "$out")"
# compute_75: Turing and newer; the driver compiles the PTX for the GPU it runs on.
nvcc --ptx -arch=compute_75 -O3 -o "$out.tmp" "$src"
{ echo "// backplane_kernels.cu sha256 $(sha256sum "$src" | cut -d' ' -f1)"; cat "$out.tmp"; } > "$out"
rm "$out.tmp"
echo "wrote $out"
