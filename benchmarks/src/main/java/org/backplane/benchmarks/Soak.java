package org.backplane.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.BackendUsage;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;

/**
 * A soak of the contract on the CPU backend, in the host or isolated in a worker process: worker
 * streams running seeded random programs and checking every result against a fault-free in-process
 * run, with seeded random faults (about 5% of ops), random resets, a stream that keeps allocating
 * and holding arrays until its memory runs out ("cache buildup"), a host that opens streams and
 * leaks some, and a canceller that closes streams while another thread waits for their work.
 * Reports ops done, failures by kind, hangs and wrong results (both must be 0), device losses no
 * fault explains (none is injected: must be 0) and worker processes lost (must be 0), and threads,
 * heap and resident memory at the start and the end (which must be flat).
 *
 * <pre>
 * benchmarks/run-soak.sh --minutes 30                        (writes results/soak-cpu.md)
 * benchmarks/run-soak.sh --minutes 30 --isolation process    (writes results/soak-cpu-isolated.md)
 * </pre>
 */
public final class Soak {
    private static final long MIB = 1L << 20;
    /** A call on a stream that takes longer than this is a hang. */
    private static final Duration HANG = Duration.ofSeconds(60);

    private final Duration length;
    private final int workers;
    private final long seed;
    private final IsolationSettings isolation;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong ops = new AtomicLong();
    private final AtomicLong checked = new AtomicLong();
    private final AtomicLong wrong = new AtomicLong();
    private final AtomicLong hangs = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong leaked = new AtomicLong();
    private final AtomicLong greedyCycles = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong unexplainedLosses = new AtomicLong();
    private final Map<ErrorKind, AtomicLong> failures = new ConcurrentHashMap<>();
    /** When each thread's current call started (0: not in a call), for the hang watch. */
    private final Map<Thread, Long> inCall = new ConcurrentHashMap<>();

    private final List<String> problems = new ArrayList<>();

    Soak(Duration length, int workers, long seed) {
        this(length, workers, seed, IsolationSettings.NONE_DEFAULT);
    }

    Soak(Duration length, int workers, long seed, IsolationSettings isolation) {
        this.length = length;
        this.workers = workers;
        this.seed = seed;
        this.isolation = isolation;
    }

    /** What a run measured. */
    record Result(
            Duration length,
            int workers,
            long seed,
            long ops,
            long checked,
            long wrong,
            long hangs,
            long resets,
            long opened,
            long leaked,
            long greedyCycles,
            long cancelled,
            long unexplainedLosses,
            WorkerStatus worker,
            Map<ErrorKind, Long> failures,
            Snapshot start,
            Snapshot end,
            List<String> problems) {
        boolean passed() {
            return wrong == 0
                    && hangs == 0
                    && unexplainedLosses == 0
                    && (worker == null || worker.crashes() == 0)
                    && problems.isEmpty()
                    && ops > 0;
        }
    }

    /** Threads, heap and resident memory, after a collection. */
    record Snapshot(int threads, long heapBytes, long residentBytes, BackendUsage usage) {
        static Snapshot take(CpuBackend backend) {
            System.gc();
            Runtime rt = Runtime.getRuntime();
            return new Snapshot(
                    ManagementFactory.getThreadMXBean().getThreadCount(),
                    rt.totalMemory() - rt.freeMemory(),
                    resident(),
                    backend.usage());
        }

        private static long resident() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux: unknown
            }
            return -1;
        }
    }

    Result run() throws InterruptedException {
        List<FaultRule> rules = new ArrayList<>();
        ErrorKind[] kinds = {ErrorKind.PAGE_FAULT, ErrorKind.TIMEOUT, ErrorKind.HOST_EXCEPTION, ErrorKind.OUT_OF_MEMORY
        };
        for (int i = 0; i < kinds.length; i++) {
            rules.add(FaultRule.fraction("soak-worker-*", 0.0125, seed + i, kinds[i]));
        }
        BackendSettings common = BackendSettings.DEFAULT
                .withFaultInjection(rules)
                .withMemory(new MemoryPolicy(512, 0, 16, 90))
                .withMaxStreams(64);
        Map<Integer, float[][]> expected = expectedResults();
        try (CpuBackend backend = CpuBackend.start(CpuSettings.defaults().withCommon(common), isolation)) {
            long begin = System.nanoTime();
            long end = begin + length.toNanos();
            // "start" is taken once warmed up (a tenth of the run, at most a minute): by then the JVM
            // has grown its heap and compiled its code, so start and end compare like with like
            long warm = begin
                    + Math.min(length.toNanos() / 10, Duration.ofMinutes(1).toNanos());
            Snapshot start = null;
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                int n = i;
                threads.add(
                        Thread.ofPlatform().name("soak-worker-" + i).start(() -> worker(backend, n, expected.get(n))));
            }
            threads.add(Thread.ofPlatform().name("soak-canceller").start(() -> canceller(backend)));
            threads.add(Thread.ofPlatform().name("soak-greedy").start(() -> greedy(backend)));
            threads.add(Thread.ofPlatform().name("soak-opener").start(() -> opener(backend)));
            threads.add(Thread.ofPlatform().name("soak-resetter").start(() -> resetter(backend)));
            long nextReport = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < end) {
                Thread.sleep(200);
                watchForHangs();
                if (start == null && System.nanoTime() >= warm) {
                    start = Snapshot.take(backend);
                }
                if (System.nanoTime() >= nextReport) {
                    nextReport += Duration.ofSeconds(30).toNanos();
                    BackendUsage u = backend.usage();
                    System.out.printf(
                            Locale.ROOT,
                            "[soak] %s left: %,d ops, %,d checked, %d wrong, %d hangs, %,d failures, %,d resets; "
                                    + "%d streams, %d threads, %.0f MiB in arrays%n",
                            Duration.ofSeconds(Math.max(0, end - System.nanoTime()) / 1_000_000_000L),
                            ops.get(),
                            checked.get(),
                            wrong.get(),
                            hangs.get(),
                            failures.values().stream()
                                    .mapToLong(AtomicLong::get)
                                    .sum(),
                            resets.get(),
                            u.openStreams(),
                            u.threads(),
                            u.memoryUsedBytes() / (double) MIB);
                }
            }
            running.set(false);
            for (Thread t : threads) {
                t.join(HANG.toMillis());
                if (t.isAlive()) {
                    problems.add(t.getName() + " did not end within " + HANG);
                }
            }
            // let the leaked streams be found (the backend looks whenever streams are listed) and
            // their arrays, which stay charged until collected, come back; a real leak stays
            for (int i = 0; i < 250; i++) {
                BackendUsage u = backend.usage();
                if (u.openStreams() == 0 && u.memoryUsedBytes() == 0) {
                    break;
                }
                System.gc();
                Thread.sleep(20);
                backend.streams();
            }
            Snapshot last = Snapshot.take(backend);
            if (start == null) {
                start = last;
            }
            Map<ErrorKind, Long> byKind = new EnumMap<>(ErrorKind.class);
            failures.forEach((k, v) -> byKind.put(k, v.get()));
            WorkerStatus worker = backend.feature(WorkerProcess.class)
                    .map(WorkerProcess::status)
                    .orElse(null);
            return new Result(
                    length,
                    workers,
                    seed,
                    ops.get(),
                    checked.get(),
                    wrong.get(),
                    hangs.get(),
                    resets.get(),
                    opened.get(),
                    leaked.get(),
                    greedyCycles.get(),
                    cancelled.get(),
                    unexplainedLosses.get(),
                    worker,
                    byKind,
                    start,
                    last,
                    List.copyOf(problems));
        }
    }

    /** The programs a worker runs, each a few ops of a model; which one runs next is drawn at random. */
    private static final int PROGRAMS = 4;

    /** Each worker's inputs, drawn from its seed. */
    private float[][] inputs(int n) {
        Random random = new Random(seed * 31 + n);
        return new float[][] {data(random, 32 * 64), data(random, 64 * 64)};
    }

    /** Every worker's results of every program, computed by a fault-free backend in this process. */
    private Map<Integer, float[][]> expectedResults() {
        Map<Integer, float[][]> expected = new ConcurrentHashMap<>();
        try (CpuBackend reference = CpuBackend.start(CpuSettings.defaults());
                ComputeStream s = reference.openStream("soak-reference")) {
            for (int n = 0; n < workers; n++) {
                float[][] in = inputs(n);
                float[][] results = new float[PROGRAMS][];
                for (int p = 0; p < PROGRAMS; p++) {
                    results[p] = program(s, p, in[0], in[1]);
                }
                expected.put(n, results);
            }
        }
        return expected;
    }

    /** Runs random programs and checks each result; a failure is reported once, then reset. */
    private void worker(CpuBackend backend, int n, float[][] expected) {
        Random random = new Random(seed * 17 + n);
        float[][] in = inputs(n);
        try (ComputeStream s = backend.openStream("soak-worker-" + n)) {
            while (running.get()) {
                enter();
                try {
                    int p = random.nextInt(PROGRAMS);
                    float[] got = program(s, p, in[0], in[1]);
                    ops.addAndGet(4);
                    checked.incrementAndGet();
                    if (!Arrays.equals(got, expected[p])) {
                        wrong.incrementAndGet();
                    }
                } catch (StreamFailedException e) {
                    failed(e);
                    resetQuietly(backend, s.id());
                } catch (StreamException e) {
                    resetQuietly(backend, s.id()); // poisoned, or its arrays made stale by a reset meanwhile
                } finally {
                    leave();
                }
            }
        } catch (StreamFailedException e) {
            failed(e); // the close reported a failure of the last round: counted, not lost
        } catch (RuntimeException e) {
            synchronized (problems) {
                problems.add("worker " + n + ": " + e);
            }
        }
    }

    /** Counts a reported failure by kind; no fault the soak injects loses the device. */
    private void failed(StreamFailedException e) {
        failures.computeIfAbsent(e.error().kind(), k -> new AtomicLong()).incrementAndGet();
        if (e.error().kind() == ErrorKind.DEVICE_LOST) {
            unexplainedLosses.incrementAndGet();
            synchronized (problems) {
                if (problems.size() < 20) {
                    problems.add("a device loss no fault explains: " + e.error().describe());
                }
            }
        }
    }

    private static float[] program(ComputeStream s, int which, float[] x, float[] w) {
        try (DeviceArray a = s.upload(x, 32, 64);
                DeviceArray b = s.upload(w, 64, 64);
                DeviceArray h = s.matmul(a, b)) {
            DeviceArray out = switch (which) {
                case 0 -> s.softmax(s.layerNorm(s.gelu(h), null, null, 1e-5f), -1);
                case 1 -> s.tanh(s.add(s.matmul(h, b), 0.5f));
                case 2 -> s.sum(s.mul(h, h), 1, false);
                default -> s.silu(s.sub(h, s.mean(h, 0, true)));
            };
            return out.download();
        }
    }

    /**
     * Cancels work as a host cancels a request: opens a stream, queues a matmul, lets another thread
     * wait for its result and closes the stream meanwhile. The waiter gets the right data or a
     * {@link StreamClosedException}; the close returns; the workers notice nothing.
     */
    private void canceller(CpuBackend backend) {
        Random random = new Random(seed + 13);
        int n = 256;
        float[] a = data(random, n * n);
        float[] expected;
        try (CpuBackend reference = CpuBackend.start(CpuSettings.defaults());
                ComputeStream s = reference.openStream("soak-reference")) {
            expected = s.matmul(s.upload(a, n, n), s.upload(a, n, n)).download();
        }
        while (running.get()) {
            enter();
            try {
                ComputeStream s = backend.openStream("soak-cancelled");
                DeviceArray product = s.matmul(s.upload(a, n, n), s.upload(a, n, n));
                AtomicReference<Object> seen = new AtomicReference<>();
                Thread waiter = Thread.ofPlatform()
                        .name("soak-canceller-waiter")
                        .start(() -> {
                            try {
                                seen.set(product.download());
                            } catch (Throwable t) {
                                seen.set(t);
                            }
                        });
                sleep(random.nextInt(4));
                s.close();
                waiter.join(HANG.toMillis());
                Object got = seen.get();
                cancelled.incrementAndGet();
                if (got instanceof float[] data) {
                    checked.incrementAndGet();
                    if (!Arrays.equals(data, expected)) {
                        wrong.incrementAndGet();
                    }
                } else if (!(got instanceof StreamClosedException)) {
                    synchronized (problems) {
                        problems.add("canceller: the waiter got " + got);
                    }
                }
            } catch (IllegalStateException e) {
                // at the maximum of open streams until the leaked ones are found: a clear refusal
            } catch (StreamFailedException e) {
                failed(e);
                synchronized (problems) {
                    problems.add("canceller: " + e);
                }
            } catch (StreamException e) {
                synchronized (problems) {
                    problems.add("canceller: " + e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                leave();
            }
        }
    }

    /** Allocates and holds 1 MiB arrays until its memory runs out, then lets go and resets. */
    private void greedy(CpuBackend backend) {
        try (ComputeStream s = backend.openStream("soak-greedy")) {
            while (running.get()) {
                List<DeviceArray> held = new ArrayList<>();
                enter();
                try {
                    while (running.get()) {
                        held.add(s.full(1f, 512, 512));
                        ops.incrementAndGet();
                    }
                } catch (StreamFailedException e) {
                    failed(e);
                    greedyCycles.incrementAndGet();
                } finally {
                    leave();
                }
                held.forEach(DeviceArray::close);
                resetQuietly(backend, s.id());
            }
        } catch (RuntimeException e) {
            synchronized (problems) {
                problems.add("greedy: " + e);
            }
        }
    }

    /** Opens streams, uses them, closes most and leaks some. */
    private void opener(CpuBackend backend) {
        Random random = new Random(seed + 99);
        while (running.get()) {
            enter();
            try {
                ComputeStream s = backend.openStream("soak-opened");
                opened.incrementAndGet();
                s.eval(s.neg(s.upload(new float[256], 16, 16)));
                ops.incrementAndGet();
                if (random.nextInt(4) == 0) {
                    leaked.incrementAndGet(); // dropped without close
                } else {
                    s.close();
                }
            } catch (IllegalStateException e) {
                // at the maximum of open streams until the leaked ones are found: a clear refusal
            } catch (StreamException e) {
                synchronized (problems) {
                    problems.add("opener: " + e);
                }
            } finally {
                leave();
            }
            sleep(random.nextInt(20));
        }
    }

    /** Resets random streams now and then, failed or not. */
    private void resetter(CpuBackend backend) {
        Random random = new Random(seed + 7);
        while (running.get()) {
            sleep(50 + random.nextInt(100));
            List<StreamId> ids = backend.streams().stream().map(s -> s.id()).toList();
            if (ids.isEmpty()) {
                continue;
            }
            enter();
            try {
                if (random.nextInt(10) == 0) {
                    resets.addAndGet(backend.resetAll());
                } else {
                    backend.reset(ids.get(random.nextInt(ids.size())));
                    resets.incrementAndGet();
                }
            } catch (IllegalArgumentException e) {
                // closed meanwhile
            } finally {
                leave();
            }
        }
    }

    private void resetQuietly(CpuBackend backend, StreamId id) {
        try {
            backend.reset(id);
            resets.incrementAndGet();
        } catch (IllegalArgumentException e) {
            // closed meanwhile
        }
    }

    private void enter() {
        inCall.put(Thread.currentThread(), System.nanoTime());
    }

    private void leave() {
        inCall.remove(Thread.currentThread());
    }

    private void watchForHangs() {
        long now = System.nanoTime();
        inCall.forEach((t, since) -> {
            if (now - since > HANG.toNanos() && inCall.remove(t, since)) {
                hangs.incrementAndGet();
                synchronized (problems) {
                    problems.add(t.getName() + " waited more than " + HANG + " in one call: "
                            + Arrays.toString(t.getStackTrace()));
                }
            }
        });
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static float[] data(Random random, int n) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = random.nextFloat() * 2 - 1;
        }
        return d;
    }

    /** The report, in Markdown. */
    static String report(Result r, String command) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Soak: the stream error contract under load (CPU backend")
                .append(r.worker() != null ? ", isolated in a worker process" : "")
                .append(")\n\n");
        sb.append("- Date: ").append(Instant.now()).append('\n');
        sb.append("- Machine: ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" processors, JDK ")
                .append(Runtime.version())
                .append('\n');
        sb.append("- CPU: ")
                .append(Machine.cpuModel())
                .append(", ")
                .append(Machine.vectorWidth())
                .append('\n');
        sb.append("- Command: `").append(command).append("`\n");
        sb.append(String.format(
                Locale.ROOT,
                "- Length: %s; %d worker streams; seed %d; faults: 5%% of worker ops (PAGE_FAULT, TIMEOUT, "
                        + "HOST_EXCEPTION, OUT_OF_MEMORY, 1.25%% each); backend memory limit 512 MiB, 16 MiB reserved "
                        + "per stream, at most 64 open streams%n%n",
                r.length(),
                r.workers(),
                r.seed()));
        sb.append("| | value | must be |\n|---|---:|---|\n");
        sb.append(row("ops done", r.ops(), ""));
        sb.append(row("results checked against a fault-free run", r.checked(), ""));
        sb.append(row("**wrong results**", r.wrong(), "0"));
        sb.append(row("**hangs** (a call over " + HANG.toSeconds() + " s)", r.hangs(), "0"));
        sb.append(row("resets", r.resets(), ""));
        sb.append(row("cache-buildup cycles (allocate until refused, let go, reset)", r.greedyCycles(), ""));
        sb.append(row("streams opened by the opener", r.opened(), ""));
        sb.append(row("streams closed while another thread waited for their work", r.cancelled(), ""));
        sb.append(row("**device losses no fault explains**", r.unexplainedLosses(), "0"));
        if (r.worker() != null) {
            sb.append(row("**worker processes lost**", r.worker().crashes(), "0"));
        }
        sb.append(row("of those, leaked (dropped without close)", r.leaked(), ""));
        r.failures().forEach((k, v) -> sb.append(row("failures reported: " + k, v, "")));
        sb.append("\n\"start\" is taken once warmed up (after a tenth of the run, at most a minute).\n");
        sb.append(
                "\n| at | threads | heap after GC | resident | streams open | arrays hold |\n|---|---:|---:|---:|---:|---:|\n");
        sb.append(snapshotRow("start", r.start()));
        sb.append(snapshotRow("end", r.end()));
        sb.append('\n')
                .append(r.passed() ? "**Passed**" : "**FAILED**")
                .append(": no wrong result, no hang, no device loss or worker loss that no fault explains")
                .append(r.problems().isEmpty() ? "." : "; problems:")
                .append('\n');
        if (r.worker() != null) {
            sb.append("\nThe worker process at the end: ")
                    .append(r.worker().describe())
                    .append('\n');
        }
        r.problems().forEach(p -> sb.append("- ").append(p).append('\n'));
        return sb.toString();
    }

    private static String row(String what, long value, String must) {
        return String.format(Locale.ROOT, "| %s | %,d | %s |%n", what, value, must);
    }

    private static String snapshotRow(String at, Snapshot s) {
        return String.format(
                Locale.ROOT,
                "| %s | %d | %.0f MiB | %.0f MiB | %d | %.1f MiB |%n",
                at,
                s.threads(),
                s.heapBytes() / (double) MIB,
                s.residentBytes() / (double) MIB,
                s.usage().openStreams(),
                s.usage().memoryUsedBytes() / (double) MIB);
    }

    public static void main(String[] args) throws Exception {
        double minutes = 1;
        int workers = 4;
        long seed = 20261130;
        Path out = null;
        IsolationSettings isolation = IsolationSettings.NONE_DEFAULT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--minutes" -> minutes = Double.parseDouble(args[++i]);
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--isolation" ->
                    isolation = IsolationSettings.fromConfiguration(Map.of(IsolationSettings.ISOLATION, args[++i]));
                default ->
                    throw new IllegalArgumentException(
                            "unknown argument " + args[i]
                                    + "; usage: [--minutes M] [--workers N] [--seed S] [--isolation none|process] [--out FILE]");
            }
        }
        Result r = new Soak(Duration.ofMillis((long) (minutes * 60_000)), workers, seed, isolation).run();
        String text = report(r, "benchmarks/run-soak.sh " + String.join(" ", args));
        System.out.println(text);
        if (out != null) {
            Files.writeString(out, text);
            System.out.println("[soak] wrote " + out.toAbsolutePath());
        }
        System.exit(r.passed() ? 0 : 1);
    }
}
