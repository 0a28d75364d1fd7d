#!/usr/bin/env bash
# The soak (org.backplane.benchmarks.Soak) on the CPU backend, in the host or isolated in a worker
# process: worker streams running random programs with seeded random faults, random resets, a
# cache-buildup stream, a host that leaks streams and one that closes streams under their waiters,
# for as long as asked:
#   benchmarks/run-soak.sh --minutes 30                        (writes results/soak-cpu.md)
#   benchmarks/run-soak.sh --minutes 30 --isolation process    (writes results/soak-cpu-isolated.md)
#   benchmarks/run-soak.sh --minutes 2 --out /tmp/soak.md
# Exits non-zero if a result was wrong, a call hung, a device or worker was lost that no fault explains,
# or something was left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
args=("$@")
if [[ " $* " != *" --out "* ]]; then
  if [[ " $* " == *" --isolation process "* ]]; then
    args+=(--out results/soak-cpu-isolated.md)
  else
    args+=(--out results/soak-cpu.md)
  fi
fi
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx2g \
  -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" org.backplane.benchmarks.Soak "${args[@]}"
