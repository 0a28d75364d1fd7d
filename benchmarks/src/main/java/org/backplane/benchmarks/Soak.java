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
import org.backplane.api.BackendUsage;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;

/**
 * A soak of the contract on the CPU backend: worker streams computing and checking results with
 * seeded random faults (about 5% of ops), random resets, a stream that keeps allocating and holding
 * arrays until its memory runs out ("cache buildup"), and a host that opens streams and leaks some.
 * Reports ops done, failures by kind, hangs and wrong results (both must be 0), and threads, heap
 * and resident memory at the start and the end (which must be flat).
 *
 * <pre>
 * benchmarks/run-soak.sh --minutes 30            (writes results/soak-cpu.md)
 * </pre>
 */
public final class Soak {
    private static final long MIB = 1L << 20;
    /** A call on a stream that takes longer than this is a hang. */
    private static final Duration HANG = Duration.ofSeconds(60);

    private final Duration length;
    private final int workers;
    private final long seed;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong ops = new AtomicLong();
    private final AtomicLong checked = new AtomicLong();
    private final AtomicLong wrong = new AtomicLong();
    private final AtomicLong hangs = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong leaked = new AtomicLong();
    private final AtomicLong greedyCycles = new AtomicLong();
    private final Map<ErrorKind, AtomicLong> failures = new ConcurrentHashMap<>();
    /** When each thread's current call started (0: not in a call), for the hang watch. */
    private final Map<Thread, Long> inCall = new ConcurrentHashMap<>();

    private final List<String> problems = new ArrayList<>();

    Soak(Duration length, int workers, long seed) {
        this.length = length;
        this.workers = workers;
        this.seed = seed;
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
            Map<ErrorKind, Long> failures,
            Snapshot start,
            Snapshot end,
            List<String> problems) {
        boolean passed() {
            return wrong == 0 && hangs == 0 && problems.isEmpty() && ops > 0;
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
        try (CpuBackend backend = CpuBackend.start(CpuSettings.defaults().withCommon(common))) {
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
                threads.add(Thread.ofPlatform().name("soak-worker-" + i).start(() -> worker(backend, n)));
            }
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
            // let the leaked streams be found: the backend looks whenever streams are listed
            for (int i = 0; i < 50 && backend.usage().openStreams() > 0; i++) {
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
                    byKind,
                    start,
                    last,
                    List.copyOf(problems));
        }
    }

    /** Computes and checks a small model-like step, again and again; a failure is reported once, then reset. */
    private void worker(CpuBackend backend, int n) {
        Random random = new Random(seed * 31 + n);
        float[] x = data(random, 32 * 64);
        float[] w = data(random, 64 * 64);
        float[] expected;
        try (ComputeStream reference = backend.openStream("soak-reference-" + n)) {
            expected = step(reference, x, w);
        }
        try (ComputeStream s = backend.openStream("soak-worker-" + n)) {
            while (running.get()) {
                enter();
                try {
                    float[] got = step(s, x, w);
                    ops.addAndGet(4);
                    checked.incrementAndGet();
                    if (!Arrays.equals(got, expected)) {
                        wrong.incrementAndGet();
                    }
                } catch (StreamFailedException e) {
                    failures.computeIfAbsent(e.error().kind(), k -> new AtomicLong())
                            .incrementAndGet();
                    resetQuietly(backend, s.id());
                } catch (StreamException e) {
                    resetQuietly(backend, s.id()); // poisoned, or its arrays made stale by a reset meanwhile
                } finally {
                    leave();
                }
            }
        } catch (StreamFailedException e) {
            // the close reported a failure of the last round: counted, not lost
            failures.computeIfAbsent(e.error().kind(), k -> new AtomicLong()).incrementAndGet();
        } catch (RuntimeException e) {
            synchronized (problems) {
                problems.add("worker " + n + ": " + e);
            }
        }
    }

    private static float[] step(ComputeStream s, float[] x, float[] w) {
        try (DeviceArray a = s.upload(x, 32, 64);
                DeviceArray b = s.upload(w, 64, 64);
                DeviceArray h = s.matmul(a, b);
                DeviceArray g = s.gelu(h);
                DeviceArray n = s.layerNorm(g, null, null, 1e-5f);
                DeviceArray p = s.softmax(n, -1)) {
            return p.download();
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
                    failures.computeIfAbsent(e.error().kind(), k -> new AtomicLong())
                            .incrementAndGet();
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
        sb.append("# Soak: the stream error contract under load (CPU backend)\n\n");
        sb.append("- Date: ").append(Instant.now()).append('\n');
        sb.append("- Machine: ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" processors, JDK ")
                .append(Runtime.version())
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
        sb.append(row("of those, leaked (dropped without close)", r.leaked(), ""));
        r.failures().forEach((k, v) -> sb.append(row("failures reported: " + k, v, "")));
        sb.append("\n\"start\" is taken once warmed up (after a tenth of the run, at most a minute).\n");
        sb.append(
                "\n| at | threads | heap after GC | resident | streams open | arrays hold |\n|---|---:|---:|---:|---:|---:|\n");
        sb.append(snapshotRow("start", r.start()));
        sb.append(snapshotRow("end", r.end()));
        sb.append('\n')
                .append(r.passed() ? "**Passed**" : "**FAILED**")
                .append(": no wrong result, no hang")
                .append(r.problems().isEmpty() ? "." : "; problems:")
                .append('\n');
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
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--minutes" -> minutes = Double.parseDouble(args[++i]);
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default ->
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + "; usage: [--minutes M] [--workers N] [--seed S] [--out FILE]");
            }
        }
        Result r = new Soak(Duration.ofMillis((long) (minutes * 60_000)), workers, seed).run();
        String text = report(r, "benchmarks/run-soak.sh " + String.join(" ", args));
        System.out.println(text);
        if (out != null) {
            Files.writeString(out, text);
            System.out.println("[soak] wrote " + out.toAbsolutePath());
        }
        System.exit(r.passed() ? 0 : 1);
    }
}
