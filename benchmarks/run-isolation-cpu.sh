#!/usr/bin/env bash
# Builds the benchmarks and measures what process isolation costs on the CPU backend: the same
# workloads in the host and in a worker process, interleaved in the same run (IsolationCostReport),
# writing results/isolation-cpu.md. Run it on a quiet machine: about two minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -Xmx4g -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  org.backplane.benchmarks.IsolationCostReport --backend cpu --iterations 100 --out results/isolation-cpu.md "$@"
