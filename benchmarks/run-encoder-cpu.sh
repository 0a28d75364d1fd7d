#!/usr/bin/env bash
# Builds the benchmarks and times the transformer encoder layer on the CPU backend against the same
# layer in numpy, in the same run, writing results/encoder-layer-cpu.md. Needs python3 with numpy and
# scipy. Run it on a quiet machine: about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package -DskipTests
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp benchmarks/target/backplane-benchmarks.jar org.backplane.benchmarks.EncoderLayerReport \
  --out results/encoder-layer-cpu.md "$@"
