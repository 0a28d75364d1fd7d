#!/usr/bin/env bash
# Builds the benchmarks and runs them with their numpy baselines on this machine, writing
# results/cpu-benchmarks.md. Takes about five minutes; pass --quick for a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package -DskipTests
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -jar benchmarks/target/backplane-benchmarks.jar --out results/cpu-benchmarks.md "$@"
