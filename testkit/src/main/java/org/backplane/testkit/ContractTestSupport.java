package org.backplane.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamStateListener;
import org.backplane.api.fault.FaultInjector;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * Base of every kit test: a fresh backend per test, started by the fixture with fault injection
 * enabled (and no rules), with a listener recording every transition. Every test has a timeout, so
 * a waiter that hangs fails the test instead of the build.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class ContractTestSupport {
    protected ExecutionBackend backend;
    protected RecordingListener listener;

    /** The backend under test. */
    protected abstract BackendFixture fixture();

    /** Settings for the backend under test; tests may override. */
    protected BackendSettings settings() {
        return BackendSettings.DEFAULT
                .withFaultInjection(List.of())
                .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(5));
    }

    @BeforeEach
    void startBackend() {
        backend = fixture().start(settings());
        listener = new RecordingListener();
        backend.addStreamStateListener(listener);
    }

    @AfterEach
    void stopBackend() {
        if (backend != null) {
            fixture().stop(backend);
        }
    }

    protected FaultInjector faults() {
        return FaultInjector.of(backend)
                .orElseThrow(() -> new AssertionError(
                        "fixture " + fixture().name() + " started a backend without fault injection"));
    }

    /** Seeded values in [-1, 1). */
    protected static float[] randomData(Random random, int n) {
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = random.nextFloat() * 2 - 1;
        }
        return data;
    }

    protected static DeviceArray random(ComputeStream stream, Random random, int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return stream.upload(randomData(random, (int) n), shape);
    }

    /**
     * Runs {@code threads} calls at once (released together by a barrier) and returns what each
     * threw, null for those that returned; waits for all of them.
     */
    protected static List<Throwable> concurrently(int threads, IntFunction<Runnable> body) throws InterruptedException {
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Throwable> outcomes = Collections.synchronizedList(new ArrayList<>());
        List<Thread> started = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Runnable call = body.apply(i);
            started.add(thread("concurrent-" + i, () -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                outcomes.add(outcome(call));
            }));
        }
        for (Thread t : started) {
            t.join(); // the class timeout fails a test whose call hangs
        }
        return outcomes;
    }

    /** What a call threw, or null if it returned. */
    protected static Throwable outcome(Runnable call) {
        try {
            call.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** A listener that blocks every delivery until {@code release} opens. */
    protected static StreamStateListener blockingListener(CountDownLatch release) {
        return t -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** A listener that throws on every delivery. */
    protected static StreamStateListener throwingListener() {
        return t -> {
            throw new IllegalStateException("listener bug");
        };
    }

    /** Runs {@code body} on a new platform thread and returns it (started). */
    protected static Thread thread(String name, Runnable body) {
        Thread t = Thread.ofPlatform().name(name).unstarted(body);
        t.start();
        return t;
    }

    /**
     * {@code settings} with no memory limit of Backplane's own (a pebibyte), so that the device
     * itself must refuse what does not fit.
     */
    protected static BackendSettings withoutOwnMemoryLimit(BackendSettings settings) {
        return settings.withMemory(new MemoryPolicy(1L << 30, 0, 0, 90));
    }

    /**
     * Waits until every thread is parked or has ended, so that a test releases held work only after
     * its waiters really wait for it. Bounded: the assertions that follow judge the outcome.
     */
    protected static void awaitBlocked(List<Thread> threads) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline
                && !threads.stream().allMatch(t -> switch (t.getState()) {
                    case WAITING, TIMED_WAITING, BLOCKED, TERMINATED -> true;
                    default -> false;
                })) {
            Thread.sleep(5);
        }
    }
}
