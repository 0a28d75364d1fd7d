package org.backplane.metal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.metal.kit.MetalFixture;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 8 threads, each with its own stream, each committing 1,000 command buffers; the simulator fails
 * command buffers of three of the streams now and then (timeouts, page faults, out of memory,
 * invalid resources, innocent victims), with their handlers delayed so that completions interleave.
 * The JVM survives, every healthy result is exact, and each fault reaches only its own stream.
 */
@Tag("simulator")
class MetalStressTest {
    private static final int THREADS = 8;
    private static final int BUFFERS = 1000;
    private static final Set<Integer> FAULTY = Set.of(1, 4, 6);
    private static final long[] CODES = {2, 3, 8, 9, -1};

    @Test
    @Timeout(300)
    void eightThreadsThousandCommandBuffersEachWithFaultsOnSome() throws Exception {
        assumeTrue(Simulator.active(), "needs the Metal simulator (Linux)");
        MetalBackend backend = (MetalBackend) MetalFixture.INSTANCE.start(BackendSettings.DEFAULT);
        Simulator sim = Simulator.get();
        ConcurrentLinkedQueue<Throwable> problems = new ConcurrentLinkedQueue<>();
        ConcurrentHashMap<Integer, AtomicLong> failures = new ConcurrentHashMap<>();
        AtomicLong exact = new AtomicLong();
        try {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int worker = t;
                failures.put(worker, new AtomicLong());
                threads.add(Thread.ofPlatform().name("stress-" + t).start(() -> {
                    SplittableRandom random = new SplittableRandom(worker);
                    try (ComputeStream s = backend.openStream("stress-" + worker)) {
                        String label = s.id().toString();
                        if (worker == 2 || worker == 5) {
                            sim.delayHandlers(label, 1); // late handlers, interleaving with the others
                        }
                        if (FAULTY.contains(worker)) {
                            arm(sim, label, random);
                        }
                        for (int i = 0; i < BUFFERS; i++) {
                            float[] x = new float[256];
                            for (int j = 0; j < x.length; j++) {
                                x[j] = (float) random.nextDouble(-4, 4);
                            }
                            try {
                                DeviceArray a = s.upload(x, 256);
                                float[] y = s.add(s.mul(a, a), a).download(); // one command buffer
                                for (int j = 0; j < x.length; j++) {
                                    if (Float.floatToRawIntBits(y[j]) != Float.floatToRawIntBits(x[j] * x[j] + x[j])) {
                                        throw new AssertionError(
                                                "stream " + worker + " buffer " + i + ": wrong value at " + j);
                                    }
                                }
                                exact.incrementAndGet();
                            } catch (StreamFailedException e) {
                                if (!FAULTY.contains(worker)) {
                                    throw new AssertionError("healthy stream " + worker + " failed", e);
                                }
                                ErrorKind kind = e.error().kind();
                                if (!Set.of(
                                                ErrorKind.TIMEOUT,
                                                ErrorKind.PAGE_FAULT,
                                                ErrorKind.OUT_OF_MEMORY,
                                                ErrorKind.INVALID_ARGUMENT,
                                                ErrorKind.INNOCENT_VICTIM)
                                        .contains(kind)) {
                                    throw new AssertionError("unexpected kind on stream " + worker, e);
                                }
                                failures.get(worker).incrementAndGet();
                                backend.reset(s.id());
                                arm(sim, label, random);
                            }
                        }
                    } catch (Throwable e) {
                        problems.add(e);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
        } finally {
            backend.close();
            sim.reset();
        }
        assertThat(problems).isEmpty();
        for (int t = 0; t < THREADS; t++) {
            if (FAULTY.contains(t)) {
                assertThat(failures.get(t).get())
                        .as("faults injected on stream %d", t)
                        .isPositive();
            } else {
                assertThat(failures.get(t).get()).isZero();
            }
        }
        assertThat(exact.get()).isGreaterThan((long) (THREADS - FAULTY.size()) * BUFFERS);
    }

    /** The next fault on the stream: some command buffer among the next 150. */
    private static void arm(Simulator sim, String label, SplittableRandom random) {
        long code = CODES[random.nextInt(CODES.length)];
        long skip = random.nextInt(150);
        if (code < 0) {
            sim.innocentVictim(label, skip);
        } else {
            sim.failCommandBuffer(label, skip, code);
        }
    }
}
