#!/usr/bin/env python3
"""Breaks each rule of the stream error contract in a scratch copy of the repository and checks that
the contract tests notice: every mutation must make at least one test fail. Prints a table; exits 1
if a mutation survives (the tests would not catch that broken rule).

    python3 dev/break-the-rules.py            # all rules
    python3 dev/break-the-rules.py S3 S7      # some rules
    python3 dev/break-the-rules.py reserve    # the mutations whose description contains a word

Each mutation names the code it breaks, the exact text it replaces, and the tests expected to fail.
A mutation whose text is no longer found is reported as STALE: update it with the code.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SPI = "api-bundle/src/main/java/org/backplane/spi/"
STREAM = SPI + "internal/stream/"
BACKEND = SPI + "internal/backend/"
CPU = "cpu-reference-bundle/src/main/java/org/backplane/cpu/internal/"
ISOLATION = "isolation-bundle/src/main/java/org/backplane/isolation/internal/"
RUNTIME = "runtime-bundle/src/main/java/org/backplane/runtime/internal/"

# (rule, what breaks, [(file, exact text, replacement), ...], tests expected to fail)
MUTATIONS = [
    ("S1", "an exception in an op escapes on the worker thread",
     [(CPU + "CpuStreamEngine.java",
       """            } catch (Throwable t) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.HOST_EXCEPTION)""",
       """            } catch (RuntimeException t) {
                throw t;
            } catch (Throwable t) {
                sink.failed(
                        batch,
                        sink.error(ErrorKind.HOST_EXCEPTION)""")],
     "CpuCaptureContractTest"),
    ("S1", "capture waits for listeners (delivers on the capturing thread)",
     [(SPI + "runtime/TransitionDispatcher.java",
       """            for (Mailbox m : mailboxes) {
                m.offer(transition);
            }""",
       """            for (Mailbox m : mailboxes) {
                m.listener.onTransition(transition);
            }""")],
     "CpuCaptureContractTest"),
    ("S1", "an exception in a completion upcall escapes into the driver's thread (the registry CUDA and Metal share)",
     [(SPI + "device/CompletionRegistry.java",
       """        } catch (Throwable t) {
            try {
                onFailure.accept(work, t);""",
       """        } catch (RuntimeException t) {
            throw t;
        } catch (Throwable t) {
            try {
                onFailure.accept(work, t);""")],
     "UpcallGuardTest"),
    ("S2", "a later error overwrites the first",
     [(STREAM + "Generation.java",
       """        if (FIRST.compareAndSet(this, null, error)) {
            return true;
        }""",
       """        if (FIRST.compareAndSet(this, null, error) || (first = error) != null) {
            return true;
        }""")],
     "CpuCaptureContractTest"),
    ("S3", "the error is reported to every caller, not once",
     [(STREAM + "StreamSlot.java",
       """                        reported = g == current && g.casState(Generation.FAILED, Generation.POISONED);""",
       """                        reported = g == current;""")],
     "CpuReportContractTest"),
    ("S4", "work is still encoded and committed on a poisoned stream",
     [(STREAM + "StreamSlot.java",
       """        Generation g = current;
        if (g.state == Generation.ACTIVE) {
            return g;
        }
        return enterSlow();""",
       """        Generation g = current;
        if (g.state == Generation.ACTIVE || g.state == Generation.POISONED) {
            return g;
        }
        return enterSlow();"""),
      (STREAM + "Batcher.java",
       """            if (g.state != Generation.ACTIVE) {
                g = slot.enterSlow(); // re-check under the lock (S4)""",
       """            if (g.state != Generation.ACTIVE && g.state != Generation.POISONED) {
                g = slot.enterSlow(); // re-check under the lock (S4)"""),
      (STREAM + "Batcher.java",
       """        if (g.state != Generation.ACTIVE || g != slot.current()) {
            discard(batch, g); // S4""",
       """        if (g != slot.current()) {
            discard(batch, g); // S4""")],
     "CpuReportContractTest StreamTest"),
    ("S5", "an error is captured into every stream of the backend",
     [(BACKEND + "FaultPlan.java",
       """        Stream s = backend.requireStream(stream);
        s.raise(""",
       """        Stream s = backend.requireStream(stream);
        backend.streamsForTest().forEach(o -> o.raise(s.error(kind).message("leak").build()));
        s.raise("""),
      (BACKEND + "CoreBackend.java",
       """    @Override
    public void closed(Stream stream) {""",
       """    java.util.Collection<Stream> streamsForTest() {
        return streams.values();
    }

    @Override
    public void closed(Stream stream) {""")],
     "CpuReportContractTest CpuCaptureContractTest"),
    ("S6", "a batch that completes after its stream failed yields its data",
     [(STREAM + "Completion.java",
       """            StreamError failedBefore = g.first;
            if (failedBefore == null && (batch.toVerify""",
       """            StreamError failedBefore = null;
            if (failedBefore == null && (batch.toVerify""")],
     "StreamTest CpuIsolationContractTest"),
    # Both checks go: the engine's wait before the op runs and the SPI's when the batch completes
    # (either alone keeps the contract: the other still fails the work with UPSTREAM_FAILURE).
    ("S6", "work consuming a failed array of another stream runs anyway and its result is readable",
     [(STREAM + "CrossStreamInputs.java",
       """            StreamError cause = in.unusableBecause();
            if (cause != null) {
                return upstreamError(command, null, in, cause);
            }
        }
        return null;""",
       """        }
        return null;"""),
      (STREAM + "CrossStreamInputs.java",
       """                    StreamError cause = in.unusableBecause();
                    if (cause != null) {
                        return upstreamError(c, batch, in, cause);
                    }""",
       """                    // the completion check is gone""")],
     "CpuIsolationContractTest"),
    ("S7", "reset clears the slot but keeps the failed generation",
     [(STREAM + "Lifecycle.java",
       """                slot.replace(slot.newGeneration(g.number + 1, batcher.lastSequence()));""",
       """                g.first = null;
                g.state = Generation.ACTIVE;""")],
     "CpuResetContractTest"),
    ("S8", "resets are not published to listeners",
     [(STREAM + "Lifecycle.java",
       """            transitions.publish(StreamTransition.Type.RESET, from, g.first);""",
       """            // not published""")],
     "CpuObservationContractTest"),
    ("S9", "an error whose scope is the device poisons only its own stream",
     [(STREAM + "BackendContext.java",
       """        if (scope == ErrorScope.DEVICE) {
            deviceLost(error);
        }""",
       """        // the scope is ignored""")],
     "CpuDeviceLossContractTest"),
    ("S9", "an injected device loss is taken for an error of its stream only (kind to scope)",
     [(SPI + "ErrorScope.java",
       """        return kind.isDeviceFatal() ? DEVICE : STREAM;""",
       """        return STREAM;""")],
     "CpuDeviceLossContractTest"),
    ("S11", "stopping the backend leaves its streams (and their threads) running",
     [(BACKEND + "CoreBackend.java",
       """            s.shutdown(stopped, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));""",
       """            if (stopped == null) {
                break; // never: the streams are simply left as they are
            }""")],
     "CpuStopContractTest"),
    ("S12", "a stream's quota is not enforced",
     [(STREAM + "MemoryBudget.java",
       """        if (a.quota > 0 && a.used + bytes > a.quota) {
            return String.format(""",
       """        if (a.quota < 0) {
            return String.format(""")],
     "CpuMemoryContractTest"),
    ("S12", "no reserve is kept for the other open streams",
     [(STREAM + "MemoryBudget.java",
       """        long owedToOthers = owed - (a.open ? a.owedNow : 0);
        if (withinReserve""",
       """        long owedToOthers = 0;
        if (withinReserve""")],
     "CpuMemoryContractTest"),
    ("S13", "close() swallows a failure nobody observed",
     [(STREAM + "StreamImpl.java",
       """        if (unreported != null) {
            throw new StreamFailedException(unreported); // S13: the last chance to hear of it""",
       """        if (Boolean.getBoolean("backplane.mutant.never") && unreported != null) {
            throw new StreamFailedException(unreported); // S13: the last chance to hear of it""")],
     "CpuNothingLostContractTest"),
    ("S13", "an error raised against a generation a reset replaced poisons the new one",
     [(STREAM + "StreamSlot.java",
       """        if (g.number != error.generation()) {""",
       """        if (g.number < 0) {""")],
     "CpuNothingLostContractTest"),
    ("S13", "a worker thread dies of an error it meets while failing a batch",
     [(CPU + "CpuStreamEngine.java",
       """                sink.failedUnexpectedly(batch, t); // execute reports its failures; this is the last line of defence""",
       """                throw t;""")],
     "HeapExhaustionTest"),
]

# The same break of S4, seen at the native boundary: the Metal simulator's call log shows messages
# sent for a poisoned stream.
MUTATIONS.append(("S4", "work is still encoded and committed on a poisoned Metal stream",
                  next(m[2] for m in MUTATIONS if m[1] == "work is still encoded and committed on a poisoned stream"),
                  "PoisonedStreamCallLogTest"))

# Process isolation: a lost worker is a device loss (S9) for every stream, and no worker outlives
# its host.
MUTATIONS.append(("S9", "a lost worker fails only the streams with work in flight (isolation)",
                  [(ISOLATION + "host/RemoteStream.java",
                    """        if (lost.isEmpty()) {
            sink.raise(lossError(reason, null), ErrorScope.DEVICE);
            return;
        }
        for (CommandBatch b : lost) {
            sink.failed(b, lossError(reason, b), ErrorScope.DEVICE);
        }""",
                    """        if (lost.isEmpty()) {
            return;
        }
        for (CommandBatch b : lost) {
            sink.failed(b, lossError(reason, b), ErrorScope.STREAM);
        }""")],
                  "WorkerFaultsTest"))
MUTATIONS.append(("S11", "a worker outlives its host (isolation)",
                  [(ISOLATION + "worker/WorkerMain.java",
                    """        WorkerExit.halt(0, "the host's pipe closed: the host is gone");""",
                    """        // the host is gone, and the worker stays"""),
                   (ISOLATION + "worker/WorkerServer.java",
                    """                WorkerExit.halt(0, "the connection from the host ended (" + e + ")"); // so is its worker
                return;""",
                    """                try {
                    Thread.sleep(Long.MAX_VALUE); // the host is gone, and the worker stays
                } catch (InterruptedException ignored) {
                    // and it still stays
                }
                return;""")],
                  "WorkerProcessTest"))

# Behaviours beside the stream error rules that the contract relies on (issue 26): each broken
# once, each caught by the test that claims it.
EMBEDDINGS = "embeddings-bundle/src/main/java/org/backplane/embeddings/internal/"
MUTATIONS += [
    ("S8", "a removed listener keeps hearing transitions",
     [(SPI + "runtime/TransitionDispatcher.java",
       """        mailboxes.removeIf(m -> m.listener == listener);""",
       """        // removal ignored""")],
     "CpuObservationContractTest"),
    ("S12", "a reserve is also kept against the allocating stream itself (one reserve too many)",
     [(STREAM + "MemoryBudget.java",
       """        long owedToOthers = owed - (a.open ? a.owedNow : 0);""",
       """        long owedToOthers = owed - (a.open ? a.owedNow : 0) + minimumReserve;""")],
     "CpuMemoryContractTest"),
    ("S11", "a stopped backend's streams fail with another kind than BACKEND_STOPPED",
     [(BACKEND + "CoreBackend.java",
       """            StreamError stopped = s.error(ErrorKind.BACKEND_STOPPED)""",
       """            StreamError stopped = s.error(ErrorKind.INTERNAL)""")],
     "CpuStopContractTest"),
    ("S11", "a closed stream's worker thread is never told to stop",
     [(CPU + "CpuStreamEngine.java",
       """        queue.add(STOP);
        try {
            worker.join(""",
       """        try {
            worker.join(""")],
     "CpuStopContractTest"),
    ("limits", "the maximum number of open streams is not enforced",
     [(BACKEND + "CoreBackend.java",
       """            if (streams.size() >= settings.maxStreams()) {""",
       """            if (streams.size() >= settings.maxStreams() * 1000) {""")],
     "CpuLeakedStreamContractTest"),
    ("limits", "at the maximum, streams nobody reaches are not reclaimed before the refusal",
     [(BACKEND + "CoreBackend.java",
       """            leaked.collectAndCloseUnreachable(s -> streams.containsKey(s.id().number()), settings.closeTimeout());""",
       """            // refused without looking for leaked streams""")],
     "CpuLeakedStreamContractTest"),
    ("limits", "a stream nobody can reach is never closed",
     [(BACKEND + "LeakedStreams.java",
       """            if (!stillOpen.test(s)) {
                continue;
            }""",
       """            if (s != null) {
                continue; // never reclaimed
            }""")],
     "CpuLeakedStreamContractTest"),
    ("input", "matmul of shapes that do not fit is accepted",
     [(SPI + "Shapes.java",
       """        if (k != kb) {""",
       """        if (k != kb && k < 0) {""")],
     "CpuBadInputContractTest"),
    ("checking", "a result that differs from the checker's is accepted",
     [(STREAM + "Completion.java",
       """            if (mismatch != null) {
                failed(""",
       """            if (mismatch != null && bad == null) {
                failed(""")],
     "CpuVerificationContractTest"),
    ("recovery", "the embedding pool gives up on a batch instead of resetting its stream and running it again",
     [(EMBEDDINGS + "WorkerPool.java",
       """            try {
                List<float[]> again = embedder.embedTokens(stream(w), batch);""",
       """            try {
                if (batch.length > 0) {
                    throw new EmbeddingException("not run again", null, null);
                }
                List<float[]> again = embedder.embedTokens(stream(w), batch);""")],
     "CpuEmbeddingConformanceTest"),
    ("isolation", "a worker accepts a connection without the host's secret",
     [(ISOLATION + "worker/WorkerMain.java",
       """                    if (offered != null
                            && MessageDigest.isEqual(offered.getBytes(StandardCharsets.US_ASCII), expected)) {""",
       """                    if (offered != null || expected != null) {""")],
     "WorkerProcessTest"),
    ("isolation", "a hung worker is never noticed (no heartbeat timeout)",
     [(ISOLATION + "host/Supervisor.java",
       """                if (silent > timeout.toNanos()) {""",
       """                if (silent > Long.MAX_VALUE / 2) {""")],
     "WorkerFaultsTest"),
    ("isolation", "a backend whose workers keep dying is restarted for good (no restart limit)",
     [(ISOLATION + "host/RestartPolicy.java",
       """        if (!down && recent.size() > limit) {""",
       """        if (!down && recent.size() > Integer.MAX_VALUE - 1) {""")],
     "RestartPolicyTest"),
    ("health", "the health check only informs when a backend's arrays pass the high-water mark",
     [(RUNTIME + "StreamsHealthCheck.java",
       """                log.warn("{}: above the high-water mark of {}%", memory, u.highWaterPercent());""",
       """                log.info("{}: above the high-water mark of {}%", memory, u.highWaterPercent());""")],
     "StreamsHealthCheckTest"),
]


def run(repo, tests):
    """Runs the named test classes on the mutant; returns (named tests that failed, build log)."""
    env = dict(os.environ, JAVA_HOME=os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))
    # Failures do not stop the build, so every module's named tests run and are reported.
    # A mutant need not be formatted, warning-free or API-compatible: only its tests matter. It is
    # built with verify (not install), so that no mutant reaches the local Maven repository.
    cmd = ["./mvnw", "-B", "-o", "verify", "-pl",
           "api-bundle,isolation-bundle,cpu-reference-bundle,runtime-bundle,onnx-bundle,embeddings-bundle,testkit,metal-simulator,"
           "metal-backend-bundle",
           "-Dtest=" + ",".join(tests.split()), "-Dsurefire.failIfNoSpecifiedTests=false",
           "-Dmaven.test.failure.ignore=true", "-Dspotless.check.skip=true", "-Djavac.werror=-g",
           "-Dbnd.baseline.skip=true", "-Dmaven.javadoc.skip=true"]
    try:
        p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
        log = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-9", "-f", repo])  # the build and its test forks, all run from the scratch copy
        log = "[ERROR] the build did not end within 20 minutes (a test hung)\nBUILD FAILURE"
    return failed_named_tests(repo, tests.split()), log


def failed_named_tests(repo, classes):
    """The test methods of the named classes that failed or erred, from the surefire reports: a build
    that broke for another reason (a dependency, the simulator's build, a crashed fork) names none."""
    failed = set()
    for report in glob.glob(os.path.join(repo, "*", "target", "surefire-reports", "TEST-*.xml")):
        for case in ET.parse(report).getroot().iter("testcase"):
            simple = case.get("classname", "").rsplit(".", 1)[-1]
            if simple in classes and (case.find("failure") is not None or case.find("error") is not None):
                failed.add(f"{simple}.{case.get('name')}")
    return sorted(failed)


def build_problem(log):
    """The first error line of a build, to say why a mutant was not judged."""
    for line in log.splitlines():
        if line.startswith("[ERROR]") and line.strip() != "[ERROR]":
            return line[len("[ERROR]"):].strip()[:160]
    return "no test ran"


def main():
    # The repository this script belongs to, as committed or not: run it from a clean checkout (for
    # instance a git worktree of HEAD) when the working tree holds unfinished changes.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    wanted = set(sys.argv[1:])
    survivors = 0
    print("| rule | broken by | tests | result |")
    print("|---|---|---|---|")
    for rule, what, edits, tests in MUTATIONS:
        if wanted and rule not in wanted and not any(w in what for w in wanted):
            continue
        scratch = tempfile.mkdtemp(prefix="backplane-mutant-")
        try:
            shutil.copytree(here, scratch, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("target", ".git", ".scratch", ".device"))
            stale = False
            for path, o, n in edits:
                f = os.path.join(scratch, path)
                text = open(f).read()
                if o not in text:
                    stale = True
                    break
                open(f, "w").write(text.replace(o, n, 1))
            if stale:
                print(f"| {rule} | {what} | {tests} | STALE (code changed; update the mutation) |")
                survivors += 1
                continue
            failed, log = run(scratch, tests)
            if failed:
                print(f"| {rule} | {what} | {tests} | caught by {', '.join(failed)} |")
            elif "COMPILATION ERROR" in log:
                survivors += 1
                print(f"| {rule} | {what} | {tests} | mutation does not compile |")
            elif "BUILD FAILURE" in log and "There are test failures" not in log:
                survivors += 1
                print(f"| {rule} | {what} | {tests} | not judged: the build failed ({build_problem(log)}) |")
            else:
                survivors += 1
                print(f"| {rule} | {what} | {tests} | **SURVIVED**: none of the named tests failed |")
            sys.stdout.flush()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
