package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.BackendUsage;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamOptions;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamTransition;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.MemoryPolicy;
import org.junit.jupiter.api.Test;

/**
 * S12: one stream that keeps allocating meets its own limit; the others never see an error. The
 * backend here governs 64 MiB with 8 MiB reserved per open stream, so the scenario is the same on
 * every backend, whatever its device holds.
 */
public abstract class MemoryContractTests extends ContractTestSupport {
    private static final long MIB = 1L << 20;
    /** A 1 MiB float32 array. */
    private static final int SIDE = 512;

    @Override
    protected BackendSettings settings() {
        return super.settings().withMemory(new MemoryPolicy(64, 0, 8, 90));
    }

    @Test
    void s12_aGreedyStreamMeetsItsOwnLimitAndTheOthersStayExact() throws Exception {
        ComputeStream greedy = backend.openStream("s12-greedy");
        List<ComputeStream> healthy = List.of(
                backend.openStream("s12-worker-1"),
                backend.openStream("s12-worker-2"),
                backend.openStream("s12-worker-3"));
        Random random = new Random(12);
        float[] x = randomData(random, 64 * 64);
        float[] w = randomData(random, 64 * 64);
        float[] expected;
        try (ComputeStream reference = backend.openStream("s12-reference")) {
            expected = step(reference, x, w);
        }

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong rounds = new AtomicLong();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        List<Thread> workers = new ArrayList<>();
        for (ComputeStream s : healthy) {
            workers.add(Thread.ofPlatform().name("s12-" + s.label()).start(() -> {
                while (running.get()) {
                    try {
                        float[] got = step(s, x, w);
                        if (!Arrays.equals(got, expected)) {
                            problems.add(s.label() + ": a result differs from the fault-free run");
                        }
                        rounds.incrementAndGet();
                    } catch (RuntimeException e) {
                        problems.add(s.label() + ": " + e);
                        return;
                    }
                }
            }));
        }
        try {
            for (int cycle = 0; cycle < 3; cycle++) {
                boolean dropWithoutClosing = cycle == 2; // the last cycle leaves its arrays to the GC
                List<DeviceArray> held = new ArrayList<>();
                List<StreamFailedException> reports = new ArrayList<>();
                for (int i = 0; i < 200 && reports.isEmpty(); i++) {
                    try {
                        held.add(greedy.full(1f, SIDE, SIDE));
                    } catch (StreamFailedException e) {
                        reports.add(e);
                    }
                }
                assertThat(reports)
                        .as("cycle %d: the greedy stream must meet its limit", cycle)
                        .hasSize(1);
                StreamFailedException oom = reports.getFirst();
                assertThat(oom.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
                assertThat(oom.error().message()).contains("memory limit");
                // The limit less the three workers' reserves (each holds far less than its 8 MiB):
                // not a byte fewer (a reserve counted against the greedy stream itself), not one more
                // (a reserve kept for fewer streams than are open).
                assertThat(held.size())
                        .as("cycle %d: it got exactly what the others' reserves leave, in 1 MiB arrays", cycle)
                        .isEqualTo((int) ((64 - healthy.size() * 8) * MIB / ((long) SIDE * SIDE * Float.BYTES)));
                assertThatThrownBy(() -> greedy.full(1f, 1))
                        .as("refused until reset")
                        .isInstanceOf(StreamPoisonedException.class);
                StreamSnapshot poisoned = greedy.snapshot();
                assertThat(poisoned.memoryBytes()).isEqualTo(held.size() * (long) SIDE * SIDE * Float.BYTES);
                if (!dropWithoutClosing) {
                    held.forEach(DeviceArray::close);
                }
                held.clear();
                backend.reset(greedy.id());
                assertThat(greedy.sum(greedy.full(2f, 100)).download()).containsExactly(200f);
                long before = rounds.get();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (rounds.get() < before + 6 && System.nanoTime() < deadline && problems.isEmpty()) {
                    Thread.sleep(5);
                }
            }
        } finally {
            running.set(false);
            for (Thread t : workers) {
                t.join();
            }
        }
        assertThat(problems).as("the other streams must never notice").isEmpty();
        assertThat(rounds.get()).isPositive();
        for (ComputeStream s : healthy) {
            StreamSnapshot snap = s.snapshot();
            assertThat(snap.isHealthy()).as("%s", snap).isTrue();
            assertThat(snap.opsFailed()).as("%s", snap).isZero();
        }
        assertThat(listener.count(greedy.id(), StreamTransition.Type.FAILED))
                .as("one failure per cycle")
                .isEqualTo(3);
    }

    /** One checked step of a healthy worker: its arrays are closed when done, as a careful host does. */
    private static float[] step(ComputeStream s, float[] x, float[] w) {
        try (DeviceArray a = s.upload(x, 64, 64);
                DeviceArray b = s.upload(w, 64, 64);
                DeviceArray p = s.matmul(a, b);
                DeviceArray r = s.relu(p)) {
            return r.download();
        }
    }

    @Test
    void s12_aStreamOpenedWithAQuotaMeetsItAndSaysSo() {
        ComputeStream limited = backend.openStream("s12-quota", StreamOptions.DEFAULT.withMemoryQuota(4 * MIB));
        ComputeStream other = backend.openStream("s12-other");
        List<DeviceArray> held = new ArrayList<>();
        StreamFailedException oom = catchThrowableOfType(StreamFailedException.class, () -> {
            for (int i = 0; i < 10; i++) {
                held.add(limited.full(1f, SIDE, SIDE));
            }
        });
        assertThat(oom).as("the fifth MiB is past the quota").isNotNull();
        assertThat(held).hasSize(4);
        assertThat(oom.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
        assertThat(oom.error().message()).contains("quota");
        StreamSnapshot snap = limited.snapshot();
        assertThat(snap.memoryQuotaBytes()).isEqualTo(4 * MIB);
        assertThat(snap.memoryBytes()).isEqualTo(4 * MIB);
        assertThat(other.sum(other.full(1f, SIDE, SIDE)).download()).containsExactly(SIDE * SIDE);
        held.forEach(DeviceArray::close);
        assertThat(limited.snapshot().memoryBytes()).as("closing gives it back").isZero();
    }

    @Test
    void s12_usageShowsWhatTheArraysHold() {
        ComputeStream s = backend.openStream("s12-usage");
        BackendUsage before = backend.usage();
        assertThat(before.memoryLimitBytes()).isEqualTo(64 * MIB);
        assertThat(before.reservePerStreamBytes()).isEqualTo(8 * MIB);
        assertThat(before.openStreams()).isEqualTo(1);
        DeviceArray a = s.full(1f, SIDE, SIDE);
        s.eval(a);
        assertThat(backend.usage().memoryUsedBytes()).isEqualTo(before.memoryUsedBytes() + MIB);
        assertThat(s.snapshot().memoryBytes()).isEqualTo(MIB);
        DeviceArray b = s.full(1f, SIDE, SIDE);
        DeviceArray view = s.reshape(b, SIDE * SIDE);
        assertThat(backend.usage().memoryUsedBytes())
                .as("a view holds nothing of its own")
                .isEqualTo(before.memoryUsedBytes() + 2 * MIB);
        assertThat(backend.usage().memoryPeakBytes()).isGreaterThanOrEqualTo(2 * MIB);
        a.close();
        view.close();
        b.close();
        assertThat(backend.usage().memoryUsedBytes()).isEqualTo(before.memoryUsedBytes());
        List<DeviceArray> held = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            held.add(s.full(1f, SIDE, SIDE));
        }
        assertThat(backend.usage().aboveHighWater()).isFalse();
        // Past the high-water mark the usage says so, and no longer once the arrays are let go.
        long mark = backend.usage().highWaterPercent();
        for (int i = 0; i < 64 && backend.usage().memoryUsedBytes() * 100 <= mark * 64 * MIB; i++) {
            held.add(s.full(1f, SIDE, SIDE));
        }
        assertThat(backend.usage().aboveHighWater())
                .as("%d of %d bytes held", backend.usage().memoryUsedBytes(), 64 * MIB)
                .isTrue();
        held.forEach(DeviceArray::close);
        assertThat(backend.usage().aboveHighWater()).isFalse();
    }

    @Test
    void s12_arraysNobodyHoldsComeBackWithoutTheHostCallingGc() {
        ComputeStream s = backend.openStream("s12-garbage");
        // 400 MiB in all through a 64 MiB budget, each array dropped, none closed
        for (int i = 0; i < 400; i++) {
            s.full((float) i, SIDE, SIDE);
        }
        assertThat(s.sum(s.full(1f, 10)).download()).containsExactly(10f);
        assertThat(s.snapshot().isHealthy()).isTrue();
    }
}
