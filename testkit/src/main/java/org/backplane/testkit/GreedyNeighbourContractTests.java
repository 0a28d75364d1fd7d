package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * S12 where it is hard: the backend's own default limit (the whole device, or the Java heap on the
 * CPU), healthy streams whose working sets are several times the minimum reserve, and a greedy
 * stream that fills the memory with arrays of several sizes, round after round. The healthy streams
 * never see an error; the greedy one gets exactly one {@code OUT_OF_MEMORY} a round, and a reset
 * brings it back. The guarantee covers what a stream has been using: each worker runs before the
 * greedy one starts, as a server's streams do before a neighbour starts to hoard.
 *
 * <p>For the long run on a GPU: {@code -Dbackplane.greedy.rounds=20 -Dbackplane.greedy.side=1024
 * -Dbackplane.greedy.sizesMiB=4 -Dbackplane.greedy.reserveMiB=32}.
 */
public abstract class GreedyNeighbourContractTests extends ContractTestSupport {
    private static final long MIB = 1L << 20;
    private static final int WORKERS = 4;
    /** Chains each worker keeps in flight at once. */
    private static final int CHAINS = 3;

    /** The greedy stream's rounds. */
    protected int rounds() {
        return Integer.getInteger("backplane.greedy.rounds", 8);
    }

    /** The side of a worker's square arrays: its working set is about 5 × 3 such arrays. */
    protected int side() {
        return Integer.getInteger("backplane.greedy.side", 512);
    }

    /** The minimum reserve per stream: a worker's working set is several times this. */
    protected long reserveMiB() {
        return Long.getLong("backplane.greedy.reserveMiB", 4);
    }

    /** The sizes the greedy stream's arrays take, a round each, in turn. */
    protected long[] greedySizesMiB() {
        return Arrays.stream(System.getProperty("backplane.greedy.sizesMiB", "64,16,4,1")
                        .split(",", -1))
                .mapToLong(Long::parseLong)
                .toArray();
    }

    /** The limit the test runs under: 0, the backend's default (the device's memory, or the heap's). */
    protected long limitMiB() {
        return 0;
    }

    @Override
    protected BackendSettings settings() {
        return super.settings().withMemory(new MemoryPolicy(limitMiB(), 0, reserveMiB(), 90));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES) // the GPU's long run; the default rounds take seconds
    void s12_aGreedyStreamFillingTheDeviceNeverCostsAHealthyStreamAnError() throws Exception {
        int n = side();
        Random random = new Random(28);
        float[] x = randomData(random, n * n);
        float[] w = randomData(random, n * n);
        float[] expected;
        try (ComputeStream reference = backend.openStream("greedy-reference")) {
            expected = chain(reference, x, w).download();
        }
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong checked = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<ComputeStream> healthy = new ArrayList<>();
        for (int i = 0; i < WORKERS; i++) {
            ComputeStream s = backend.openStream("greedy-neighbour-worker-" + i);
            healthy.add(s);
            workers.add(thread("greedy-neighbour-worker-" + i, () -> {
                while (running.get()) {
                    try {
                        List<DeviceArray> outs = new ArrayList<>();
                        for (int c = 0; c < CHAINS; c++) {
                            outs.add(chain(s, x, w)); // all three in flight before the first is read
                        }
                        for (DeviceArray out : outs) {
                            if (!Arrays.equals(out.download(), expected)) {
                                problems.add(s.label() + ": a result differs from the fault-free run");
                            }
                            out.close();
                            checked.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        problems.add(s.label() + ": " + e);
                        return;
                    }
                }
            }));
        }
        ComputeStream greedy = backend.openStream("greedy-neighbour-hoarder");
        try {
            awaitChecked(checked, WORKERS * CHAINS * 3L, problems); // the workers are at work
            long[] sizes = greedySizesMiB();
            for (int round = 0; round < rounds() && problems.isEmpty(); round++) {
                long bytes = sizes[round % sizes.length] * MIB;
                StreamFailedException refusal = fill(greedy, bytes);
                assertThat(refusal.error().kind())
                        .as("round %d (%d MiB arrays): %s", round, bytes / MIB, refusal.error())
                        .isEqualTo(ErrorKind.OUT_OF_MEMORY);
                assertThat(refusal.error().stream()).isEqualTo(greedy.id());
                backend.reset(greedy.id());
                assertThat(greedy.sum(greedy.full(2f, 100)).download()).containsExactly(200f);
                long before = checked.get();
                awaitChecked(checked, before + WORKERS, problems); // the workers carried on meanwhile
            }
        } finally {
            running.set(false);
            for (Thread t : workers) {
                t.join(120_000);
            }
        }
        assertThat(problems).as("the healthy streams must never notice").isEmpty();
        for (ComputeStream s : healthy) {
            StreamSnapshot snap = s.snapshot();
            assertThat(snap.isHealthy()).as("%s", snap).isTrue();
            assertThat(snap.opsFailed()).as("%s", snap).isZero();
            s.close();
        }
    }

    /** Allocates arrays of {@code bytes} and holds them until the stream is refused; then lets go of them. */
    private static StreamFailedException fill(ComputeStream greedy, long bytes) {
        int cols = 1024;
        int rows = (int) (bytes / Float.BYTES / cols);
        List<DeviceArray> held = new ArrayList<>();
        try {
            for (int i = 0; ; i++) {
                DeviceArray a = greedy.full(1f, rows, cols);
                held.add(a);
                if (i % 8 == 7) {
                    greedy.eval(a); // really there, not only charged
                }
            }
        } catch (StreamFailedException e) {
            return e;
        } finally {
            held.forEach(DeviceArray::close);
        }
    }

    private static void awaitChecked(AtomicLong checked, long atLeast, ConcurrentLinkedQueue<String> problems)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (checked.get() < atLeast && problems.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    /** A few ops of a model, each output as large as an input: five arrays held until it is read. */
    private static DeviceArray chain(ComputeStream s, float[] x, float[] w) {
        int n = (int) Math.round(Math.sqrt(x.length));
        try (DeviceArray a = s.upload(x, n, n);
                DeviceArray b = s.upload(w, n, n);
                DeviceArray h = s.matmul(a, b);
                DeviceArray g = s.gelu(h)) {
            return s.softmax(s.add(g, a), -1);
        }
    }
}
