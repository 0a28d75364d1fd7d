#!/usr/bin/env bash
# The soak (org.backplane.benchmarks.Soak) on the CPU backend: worker streams with seeded random faults,
# random resets, a cache-buildup stream and a host that leaks streams, for as long as asked:
#   benchmarks/run-soak.sh --minutes 30            (writes results/soak-cpu.md)
#   benchmarks/run-soak.sh --minutes 2 --out /tmp/soak.md
# Exits non-zero if a result was wrong, a call hung, or something was left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
args=("$@")
[[ " $* " == *" --out "* ]] || args+=(--out results/soak-cpu.md)
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx2g \
  -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" org.backplane.benchmarks.Soak "${args[@]}"
