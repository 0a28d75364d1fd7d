package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamInterruptedException;
import org.backplane.api.StreamState;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Lifecycle calls racing work in flight, as hosts make them when a request is cancelled: a stream is
 * closed while another thread waits for its results. Whatever order the close and the work take,
 * the close returns, the waiter gets the data or a {@link StreamClosedException}, and every other
 * stream carries on untouched (S5) — in process and isolated alike.
 */
public abstract class LifecycleContractTests extends ContractTestSupport {
    /** Rounds of the close race; {@code -Dbackplane.closeRace.rounds=1000} for the long run. */
    static final int ROUNDS = Integer.getInteger("backplane.closeRace.rounds", 24);

    /**
     * The matmul's side: its product is large enough that reading it takes a while, so that the
     * read and the close, both released when the work ends, overlap in most rounds.
     */
    protected int closeRaceSize() {
        return Integer.getInteger("backplane.closeRace.size", 1024);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // the long run's 1,000 rounds; each round's calls are bounded
    void s5_closingAStreamWhileAnotherThreadWaitsForItsWorkHarmsNobody() throws Exception {
        int n = closeRaceSize();
        Random random = new Random(25);
        float[] a = randomData(random, n * n);
        float[] b = randomData(random, n * n);
        try (ComputeStream bystander = backend.openStream("close-race-bystander")) {
            DeviceArray ba = bystander.upload(a, n, n);
            DeviceArray bb = bystander.upload(b, n, n);
            float[] expected = bystander.matmul(ba, bb).download();
            long workNanos = timeOneRound(a, b, n, expected);
            for (int round = 0; round < ROUNDS; round++) {
                // The close lands anywhere from before the work starts to after it ended.
                long delayNanos = (long) (random.nextDouble() * 1.5 * workNanos);
                closeWhileWaiting(a, b, n, expected, delayNanos, round);
                assertThat(bystander.matmul(ba, bb).download())
                        .as("the bystander after round %d", round)
                        .isEqualTo(expected);
            }
        }
    }

    /** One uninterrupted round, to learn how long the work takes on this backend. */
    private long timeOneRound(float[] a, float[] b, int n, float[] expected) {
        try (ComputeStream s = backend.openStream("close-race-timing")) {
            long start = System.nanoTime();
            assertThat(s.matmul(s.upload(a, n, n), s.upload(b, n, n)).download())
                    .isEqualTo(expected);
            return System.nanoTime() - start;
        }
    }

    private void closeWhileWaiting(float[] a, float[] b, int n, float[] expected, long delayNanos, int round)
            throws InterruptedException {
        ComputeStream s = backend.openStream("close-race-" + round);
        DeviceArray product = s.matmul(s.upload(a, n, n), s.upload(b, n, n));
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread waiter = thread("close-race-waiter-" + round, () -> {
            try {
                seen.set(product.download());
            } catch (Throwable t) {
                seen.set(t);
            }
        });
        long until = System.nanoTime() + delayNanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        AtomicReference<Throwable> closeOutcome = new AtomicReference<>();
        Thread closer = thread("close-race-closer-" + round, () -> closeOutcome.set(outcome(s::close)));
        closer.join(60_000);
        waiter.join(60_000);
        assertThat(closer.isAlive()).as("close() of round %d returned", round).isFalse();
        assertThat(waiter.isAlive())
                .as("the waiter of round %d returned", round)
                .isFalse();
        assertThat(closeOutcome.get()).as("close() of round %d", round).isNull();
        Object got = seen.get();
        if (got instanceof float[] data) {
            assertThat(data).as("the waiter's data in round %d", round).isEqualTo(expected);
        } else {
            assertThat(got)
                    .as("the waiter of round %d gets the data or StreamClosedException", round)
                    .isInstanceOf(StreamClosedException.class);
        }
    }

    @Test
    void closingStreamsWithWorkQueuedFromManyThreadsLeavesTheOthersExact() throws Exception {
        int n = 96;
        Random random = new Random(26);
        float[] x = randomData(random, n * n);
        try (ComputeStream bystander = backend.openStream("close-many-bystander")) {
            DeviceArray bx = bystander.upload(x, n, n);
            float[] expected = chainOf(bystander, bx).download();
            List<Throwable> outcomes = concurrently(6, i -> () -> {
                for (int round = 0; round < 8; round++) {
                    ComputeStream s = backend.openStream("close-many-" + i + "-" + round);
                    DeviceArray last = chainOf(s, s.upload(x, n, n));
                    s.flush();
                    if (round % 2 == 0) {
                        s.close(); // queued work may still run: the close lets it finish
                        float[] got = readOrClosed(last);
                        if (got != null) {
                            assertThat(got).isEqualTo(expected);
                        }
                    } else {
                        assertThat(last.download()).isEqualTo(expected);
                        s.close();
                    }
                }
            });
            assertThat(outcomes).containsOnlyNulls();
            assertThat(chainOf(bystander, bx).download()).isEqualTo(expected);
        }
    }

    @Test
    void interruptingAThreadWhileItCallsTheApiHarmsNoOtherStream() throws Exception {
        int n = 64;
        Random random = new Random(27);
        float[] x = randomData(random, n * n);
        try (ComputeStream bystander = backend.openStream("interrupt-bystander");
                ComputeStream busy = backend.openStream("interrupt-busy")) {
            DeviceArray bx = bystander.upload(x, n, n);
            float[] expected = chainOf(bystander, bx).download();
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            AtomicInteger rounds = new AtomicInteger();
            Thread worker = thread("interrupted-caller", () -> {
                while (running.get()) {
                    try {
                        float[] got = chainOf(busy, busy.upload(x, n, n)).download();
                        assertThat(got).isEqualTo(expected);
                        rounds.incrementAndGet();
                    } catch (StreamInterruptedException e) {
                        Thread.interrupted(); // the caller's own business; the stream is unaffected
                    } catch (Throwable t) {
                        unexpected.compareAndSet(null, t);
                        return;
                    }
                }
            });
            long until = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < until && unexpected.get() == null) {
                worker.interrupt();
                Thread.sleep(0, 200_000);
            }
            running.set(false);
            worker.join(60_000);
            Thread.interrupted();
            assertThat(unexpected.get()).as("what the interrupted caller met").isNull();
            assertThat(chainOf(bystander, bx).download()).isEqualTo(expected);
            assertThat(chainOf(busy, busy.upload(x, n, n)).download()).isEqualTo(expected);
        }
    }

    @Test
    void closingTheInputsOfQueuedWorkLetsThatWorkFinish() {
        try (ComputeStream s = backend.openStream("closed-inputs");
                ComputeStream other = backend.openStream("closed-inputs-other")) {
            List<DeviceArray> results = new ArrayList<>();
            for (int i = 0; i < 600; i++) { // enough closes that a backend releases its memory in batches meanwhile
                DeviceArray x = s.upload(new float[] {i + 1, -(i + 1)}, 2);
                results.add(s.neg(x));
                results.add(other.add(x, 1f)); // read by another stream too
                x.close(); // work already queued that uses it still completes
            }
            for (int i = 0; i < 600; i++) {
                assertThat(results.get(2 * i).download()).containsExactly(-(i + 1f), i + 1f);
                assertThat(results.get(2 * i + 1).download()).containsExactly(i + 2f, 1f - (i + 1));
            }
        }
    }

    @Test
    void arraysOfAClosedStreamStayUsableAsInputsOfOtherStreams() {
        ComputeStream producer = backend.openStream("closed-producer");
        DeviceArray x = producer.upload(new float[] {1, 2, 3, 4}, 2, 2);
        DeviceArray y = producer.matmul(x, x); // queued, perhaps still running when the stream closes
        producer.close();
        try (ComputeStream consumer = backend.openStream("closed-consumer")) {
            assertThat(consumer.add(y, x).download()).containsExactly(8f, 12f, 18f, 26f);
            assertThat(y.download()).containsExactly(7f, 10f, 15f, 22f);
            assertThat(consumer.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        }
    }

    @Test
    void asManyStreamsAsTheDefaultMaximumOpenedUsedAndClosedLeaveNothingBehind() throws Exception {
        int threadsBefore = backend.usage().threads();
        try (ComputeStream bystander = backend.openStream("many-bystander")) {
            DeviceArray b = bystander.upload(new float[] {3}, 1);
            List<ComputeStream> open = new ArrayList<>();
            for (int i = 1; i < BackendSettings.DEFAULT_STREAMS_MAX; i++) { // the bystander is the first
                ComputeStream s = backend.openStream("many-" + i);
                open.add(s);
                s.eval(s.add(s.upload(new float[] {i}, 1), 1f));
            }
            assertThat(backend.usage().openStreams()).isEqualTo(BackendSettings.DEFAULT_STREAMS_MAX);
            for (int i = 0; i < open.size(); i += 97) {
                assertThat(open.get(i)
                                .neg(open.get(i).upload(new float[] {i + 1}, 1))
                                .download())
                        .containsExactly(-(i + 1f));
            }
            List<Throwable> outcomes = concurrently(4, t -> () -> {
                for (int i = t; i < open.size(); i += 4) {
                    open.get(i).close();
                }
            });
            assertThat(outcomes).containsOnlyNulls();
            assertThat(backend.usage().openStreams()).isEqualTo(1);
            assertThat(bystander.neg(b).download()).containsExactly(-3f);
        }
        assertThat(backend.usage().openStreams()).isZero();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (backend.usage().threads() > threadsBefore && System.nanoTime() < deadline) {
            Thread.sleep(10); // stream threads end shortly after their close returns
        }
        assertThat(backend.usage().threads()).isLessThanOrEqualTo(threadsBefore);
    }

    private static DeviceArray chainOf(ComputeStream s, DeviceArray x) {
        DeviceArray y = x;
        for (int i = 0; i < 6; i++) {
            y = s.tanh(s.add(s.matmul(y, x), 0.5f));
        }
        return y;
    }

    private static float[] readOrClosed(DeviceArray a) {
        try {
            return a.download();
        } catch (StreamClosedException e) {
            return null;
        }
    }
}
