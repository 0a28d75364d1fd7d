#!/usr/bin/env bash
# Builds the benchmarks and runs them with their numpy baselines on this machine, writing
# results/cpu-benchmarks.md. Takes about five minutes; pass --quick for a smoke run.
#   benchmarks/run-cpu.sh                 the JVM's own vector width (results/cpu-benchmarks.md)
#   benchmarks/run-cpu.sh --avx 2         256-bit vectors on an AVX-512 machine (results/cpu-benchmarks-useavx2.md)
#   benchmarks/run-cpu.sh --avx 1         128-bit vectors, NEON's width, FMA still on (results/cpu-benchmarks-useavx1.md)
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jvm=()
args=()
out=results/cpu-benchmarks.md
while [ $# -gt 0 ]; do
  case "$1" in
    --avx) jvm+=("-XX:UseAVX=$2"); out="results/cpu-benchmarks-useavx$2.md"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ " ${args[*]-} " == *" --out "* ]] || args+=(--out "$out")
./mvnw -q -B -pl benchmarks -am package -DskipTests
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g ${jvm[@]+"${jvm[@]}"} \
  -jar benchmarks/target/backplane-benchmarks.jar "${args[@]}"
