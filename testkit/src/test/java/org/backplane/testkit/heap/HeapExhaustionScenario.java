package org.backplane.testkit.heap;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.StreamException;
import org.backplane.cpu.CpuBackend;

/**
 * Run in a JVM of its own with a small heap (see {@link HeapExhaustionTest}): four streams keep
 * computing and checking a small product while a hog fills the heap to the last byte and holds it,
 * then lets go. Afterwards every backend thread must still be alive, no call may have waited past
 * its bound, nothing may have escaped onto a backend thread, and every stream must compute correctly
 * after a reset. Prints one line per finding and exits 0 only if there are none.
 */
public final class HeapExhaustionScenario {
    private static final int STREAMS = 4;
    private static final long CALL_BOUND_NANOS = 20_000_000_000L;

    private HeapExhaustionScenario() {}

    public static void main(String[] args) throws Exception {
        long hogMillis = args.length > 0 ? Long.parseLong(args[0]) : 4000;
        List<String> findings = new ArrayList<>();
        Map<String, Throwable> escaped = new ConcurrentHashMap<>();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> escaped.putIfAbsent(t.getName(), e));

        CpuBackend backend = CpuBackend.start();
        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(backend.openStream("heap-" + i));
        }
        Set<Thread> owned = backendThreads();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong longestCall = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        for (ComputeStream s : streams) {
            Thread w = Thread.ofPlatform().name("user-" + s.id()).start(() -> {
                while (running.get()) {
                    long start = System.nanoTime();
                    try {
                        compute(s);
                    } catch (StreamException e) {
                        failures.incrementAndGet();
                        resetQuietly(backend, s);
                    } catch (OutOfMemoryError e) {
                        // this (user) thread could not allocate either: try again
                    } finally {
                        longestCall.accumulateAndGet(System.nanoTime() - start, Math::max);
                    }
                }
            });
            workers.add(w);
        }
        Thread.sleep(500);
        long exhausted = hog(hogMillis);
        if (exhausted == 0) {
            findings.add("the hog never exhausted the heap: the scenario tested nothing");
        }
        Thread.sleep(1000);
        running.set(false);
        for (Thread w : workers) {
            w.join(CALL_BOUND_NANOS / 1_000_000);
            if (w.isAlive()) {
                findings.add("user thread " + w.getName() + " is still waiting after the run");
            }
        }
        for (Thread t : owned) {
            if (!t.isAlive()) {
                findings.add("backend thread died: " + t.getName());
            }
        }
        escaped.forEach((thread, e) -> findings.add("escaped onto " + thread + ": " + e));
        if (longestCall.get() > CALL_BOUND_NANOS) {
            findings.add("a call waited " + longestCall.get() / 1_000_000 + " ms");
        }
        for (ComputeStream s : streams) {
            try {
                resetQuietly(backend, s);
                compute(s);
            } catch (RuntimeException e) {
                findings.add("stream " + s.id() + " did not recover: " + e);
            }
        }
        System.out.println("failures seen by the streams while the heap was full: " + failures.get());
        findings.forEach(f -> System.out.println("FINDING " + f));
        System.out.println(findings.isEmpty() ? "HEAP SCENARIO PASSED" : "HEAP SCENARIO FAILED");
        System.out.flush();
        Runtime.getRuntime().halt(findings.isEmpty() ? 0 : 1);
    }

    /** A small product checked against its known value. */
    private static void compute(ComputeStream s) {
        float[] ones = new float[64 * 64];
        java.util.Arrays.fill(ones, 1f);
        DeviceArray a = s.upload(ones, 64, 64);
        float[] r = s.matmul(a, a).download();
        for (float v : r) {
            if (v != 64f) {
                throw new AssertionError("wrong result " + v + " on " + s.id());
            }
        }
    }

    private static void resetQuietly(CpuBackend backend, ComputeStream s) {
        for (int i = 0; i < 100; i++) {
            try {
                backend.reset(s.id());
                return;
            } catch (OutOfMemoryError e) {
                Thread.onSpinWait();
            }
        }
    }

    /**
     * Fills the heap to the last byte it can (until even 64 bytes are refused, within a bound), then
     * holds it full for {@code millis}, taking every byte that frees up, then lets it go. Returns
     * how often 64 bytes were refused: above zero, the heap really was exhausted.
     */
    private static long hog(long millis) throws InterruptedException {
        @SuppressWarnings("ModifiedButNotUsed") // holding the chunks is the point
        List<Object> held = new ArrayList<>();
        int chunk = 1 << 20;
        long exhausted = 0;
        long fillBound = System.nanoTime() + 30_000_000_000L;
        long end = Long.MAX_VALUE;
        while (System.nanoTime() < Math.min(end, fillBound) || (exhausted > 0 && System.nanoTime() < end)) {
            try {
                held.add(new byte[chunk]);
            } catch (OutOfMemoryError e) {
                if (chunk > 64) {
                    chunk /= 2;
                } else {
                    if (exhausted++ == 0) {
                        end = System.nanoTime() + millis * 1_000_000; // full: hold it from now on
                    }
                    Thread.sleep(1);
                }
            }
        }
        held.clear();
        System.out.println("hog: 64 bytes refused " + exhausted + " times while the heap was held full");
        return exhausted;
    }

    private static Set<Thread> backendThreads() {
        Set<Thread> owned = ConcurrentHashMap.newKeySet();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("backplane-")) {
                owned.add(t);
            }
        }
        return owned;
    }
}
