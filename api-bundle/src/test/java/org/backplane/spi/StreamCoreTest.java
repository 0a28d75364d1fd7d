package org.backplane.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamCoreTest {
    private final ManualEngine engine = new ManualEngine();
    private BackendCore backend = ManualEngine.backend(engine, BackendSettings.DEFAULT
            .withTimeouts(Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(2)));

    @AfterEach
    void stop() {
        backend.stop();
    }

    private void useSettings(BackendSettings settings) {
        backend.stop();
        backend = ManualEngine.backend(engine, settings);
    }

    /** Reads {@code array} on a new thread, recording what the read threw. */
    private static Thread readInBackground(DeviceArray array, AtomicReference<Throwable> outcome) {
        return Thread.ofPlatform().start(() -> {
            try {
                array.download();
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
    }

    @Test
    void theHealthyEntryCheckAllocatesNothing() {
        StreamCore s = (StreamCore) backend.openStream("alloc");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 200_000; i++) {
            s.enter();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000_000; i++) {
            s.enter();
        }
        long checked = threads.getCurrentThreadAllocatedBytes() - before;
        // The measurement is sensitive enough to see a single small allocation per call.
        Object[] sink = new Object[1];
        before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000; i++) {
            sink[0] = new int[1];
        }
        long control = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(control).isGreaterThanOrEqualTo(1_000 * 16L);
        // Any allocation per call would be at least 16 MB here; the JIT may allocate a little once.
        assertThat(checked).as("bytes allocated by a million healthy entry checks").isLessThan(1_000_000);
    }

    @Test
    void theHealthyEntryCheckTakesNoLock() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("lock");
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            s.encodeLockForTest().lock();
            held.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                s.encodeLockForTest().unlock();
            }
        });
        held.await();
        try {
            assertThat(s.enter()).isSameAs(s.currentGeneration()); // would block (and time out) if it locked
            assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        } finally {
            release.countDown();
            holder.join();
        }
    }

    @Test
    void batchesAreCommittedAfterMaxOpsOrMaxBytesOrAtEval() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(3, 400, 8)));
        ComputeStream s = backend.openStream("batching");
        DeviceArray x = s.upload(new float[10], 10);
        s.neg(x);
        s.neg(x);
        assertThat(engine.committed).isEmpty();
        s.neg(x);
        assertThat(engine.nextCommitted().size()).isEqualTo(3); // by op count
        DeviceArray big = s.upload(new float[100], 100);
        s.neg(big); // 400 bytes of output reach maxBytes
        assertThat(engine.nextCommitted().size()).isEqualTo(1);
        DeviceArray y = s.neg(x);
        Thread evaluator = Thread.ofPlatform().start(() -> s.eval(y));
        CommandBatch atEval = engine.nextCommitted();
        assertThat(atEval.size()).isEqualTo(1);
        ManualEngine.complete(atEval);
        evaluator.join();
        assertThat(y.isReady()).isTrue();
    }

    @Test
    void backPressureHoldsSubmittersAtMaxInFlightUntilABatchEnds() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(1, 1L << 30, 2)));
        ComputeStream s = backend.openStream("pressure");
        DeviceArray x = s.upload(new float[1], 1);
        s.neg(x);
        s.neg(x);
        CountDownLatch third = new CountDownLatch(1);
        Thread submitter = Thread.ofPlatform().start(() -> {
            s.neg(x);
            third.countDown();
        });
        CommandBatch first = engine.nextCommitted();
        engine.nextCommitted();
        assertThat(third.await(200, TimeUnit.MILLISECONDS)).as("third submission waits while two batches are in flight").isFalse();
        ManualEngine.complete(first);
        assertThat(third.await(10, TimeUnit.SECONDS)).isTrue();
        submitter.join();
    }

    @Test
    void aSubmitterHeldByBackPressureIsReleasedWhenTheStreamFails() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(1, 1L << 30, 1)));
        StreamCore s = (StreamCore) backend.openStream("pressure-fail");
        DeviceArray x = s.upload(new float[1], 1);
        s.neg(x);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread submitter = Thread.ofPlatform().start(() -> {
            try {
                s.neg(x);
                s.synchronize();
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        CommandBatch inFlight = engine.nextCommitted();
        s.batchFailed(inFlight, s.error(ErrorKind.PAGE_FAULT).batch(inFlight).build());
        submitter.join();
        assertThat(outcome.get()).isInstanceOf(StreamFailedException.class);
        assertThat(engine.committed).as("nothing is committed once the stream failed (S4)").isEmpty();
    }

    @Test
    void aLateErrorFromAResetGenerationNeverPoisonsTheNewOne() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("late");
        DeviceArray x = s.upload(new float[1], 1);
        s.neg(x);
        s.flush();
        CommandBatch old = engine.nextCommitted();
        s.raise(s.error(ErrorKind.TIMEOUT).message("hang").build());
        backend.reset(s.id()); // the old batch is still "on the device"; reset gives up waiting after 200 ms
        assertThat(s.snapshot().generation()).isEqualTo(2);

        s.batchFailed(old, s.error(ErrorKind.PAGE_FAULT).batch(old).build()); // its callback arrives late

        assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThat(s.snapshot().firstError()).isNull();
        DeviceArray y = s.neg(s.upload(new float[] {3}, 1));
        Thread reader = Thread.ofPlatform().start(() -> assertThat(y.download()).hasSize(1));
        ManualEngine.complete(engine.nextCommitted());
        reader.join();
    }

    @Test
    void aBatchReportedTwiceCountsOnce() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("twice");
        DeviceArray x = s.upload(new float[1], 1);
        s.neg(x);
        s.flush();
        CommandBatch b = engine.nextCommitted();
        ManualEngine.complete(b);
        s.batchFailed(b, s.error(ErrorKind.PAGE_FAULT).batch(b).build()); // a confused driver reports again
        s.batchCompleted(b);
        assertThat(s.snapshot().opsCompleted()).isEqualTo(1);
        assertThat(s.snapshot().opsFailed()).isZero();
        // the error is still captured: a second report of failure is a failure the slot must record
        assertThat(s.snapshot().state()).isEqualTo(StreamState.FAILED);
    }

    @Test
    void aBatchCompletingAfterItsGenerationFailedYieldsNoData() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("after-failure");
        DeviceArray x = s.upload(new float[1], 1);
        DeviceArray y = s.neg(x);
        s.flush();
        CommandBatch b = engine.nextCommitted();
        s.raise(s.error(ErrorKind.DEVICE_LOST).message("lost while running").build());
        ManualEngine.complete(b); // the driver says it finished, but it was in flight when the stream failed
        assertThat(y.isReady()).isFalse();
        assertThatThrownBy(y::download).isInstanceOf(StreamFailedException.class);
        assertThatThrownBy(y::download).isInstanceOf(StreamPoisonedException.class);
        backend.reset(s.id());
        assertThatThrownBy(y::download).isInstanceOf(StaleGenerationException.class);
    }

    @Test
    void anArrayInFlightWhenItsStreamFailedIsUnusableOnOtherStreams() throws Exception {
        StreamCore a = (StreamCore) backend.openStream("producer");
        StreamCore b = (StreamCore) backend.openStream("consumer");
        DeviceArray x = a.neg(a.upload(new float[] {1}, 1));
        a.flush();
        CommandBatch produced = engine.nextCommitted();
        a.raise(a.error(ErrorKind.DEVICE_LOST).message("lost while x was computed").build());
        ManualEngine.complete(produced); // the driver reports the buffer done after the failure
        DeviceArray y = b.add(x, b.upload(new float[] {1}, 1));
        b.flush();
        ManualEngine.complete(engine.nextCommitted()); // b's work ran on whatever x held
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.UPSTREAM_FAILURE);
            assertThat(e.error().upstream().message()).isEqualTo("lost while x was computed");
        });
    }

    @Test
    void aMismatchFoundByTheResultCheckerPoisonsTheStream() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("checked");
        backend.resultChecker(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.op() instanceof Op.Unary;
            }

            @Override
            public String check(Command command, float[][] inputs, float[] output) {
                return output[0] == -inputs[0][0] ? null : "element 0 is " + output[0] + ", expected " + -inputs[0][0];
            }
        });
        DeviceArray y = s.neg(s.upload(new float[] {2}, 1));
        s.flush();
        ManualEngine.complete(engine.nextCommitted()); // the manual engine writes zeros: wrong
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
            assertThat(e.error().message()).isEqualTo("element 0 is 0.0, expected -2.0");
            assertThat(e.error().failedOp()).startsWith("neg");
        });
    }

    @Test
    void batchesAfterOneAwaitingItsCheckAreReleasedOnlyAfterIt() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("ordered");
        CountDownLatch checking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        backend.resultChecker(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.sequence() == 1;
            }

            @Override
            public String check(Command command, float[][] inputs, float[] output) {
                checking.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }
        });
        DeviceArray x = s.upload(new float[1], 1);
        DeviceArray first = s.neg(x);
        s.flush();
        CommandBatch b1 = engine.nextCommitted();
        DeviceArray second = s.abs(x);
        s.flush();
        CommandBatch b2 = engine.nextCommitted();
        ManualEngine.complete(b1);
        checking.await();
        ManualEngine.complete(b2); // done on the device, but behind a pending check
        assertThat(first.isReady()).isFalse();
        assertThat(second.isReady()).as("a later batch is not released ahead of a pending check").isFalse();
        assertThat(s.snapshot().opsCompleted()).isZero();
        release.countDown();
        s.synchronize();
        assertThat(first.isReady()).isTrue();
        assertThat(second.isReady()).isTrue();
        assertThat(s.snapshot().opsCompleted()).isEqualTo(2);
    }

    @Test
    void aConsumerFinishedOnTheDeviceWaitsForItsProducersCheckAndFailsIfTheProducerWasWrong() throws Exception {
        StreamCore a = (StreamCore) backend.openStream("producer-checked");
        StreamCore b = (StreamCore) backend.openStream("consumer");
        CountDownLatch checking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        backend.resultChecker(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.output().owner() == a;
            }

            @Override
            public String check(Command command, float[][] inputs, float[] output) {
                checking.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return "silently corrupted";
            }
        });
        DeviceArray x = a.neg(a.upload(new float[] {1}, 1));
        a.flush();
        CommandBatch produced = engine.nextCommitted();
        DeviceArray y = b.add(x, b.upload(new float[] {1}, 1));
        b.flush();
        CommandBatch consumed = engine.nextCommitted();
        ManualEngine.complete(produced);
        checking.await();
        ManualEngine.complete(consumed); // a GPU finishes the consumer while the producer's check still runs
        assertThat(y.isReady()).as("not released before its input is known good").isFalse();
        release.countDown();
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.UPSTREAM_FAILURE);
            assertThat(e.error().upstream().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
        });
    }

    @Test
    void aDiscardedBatchFailsWithItsGenerationsError() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("discard");
        DeviceArray y = s.neg(s.upload(new float[1], 1));
        s.flush();
        CommandBatch b = engine.nextCommitted();
        s.raise(s.error(ErrorKind.TIMEOUT).build());
        assertThat(b.shouldRun()).isFalse();
        s.batchDiscarded(b);
        assertThat(s.snapshot().opsFailed()).isEqualTo(1);
        assertThatThrownBy(y::download).isInstanceOf(StreamFailedException.class);
    }

    @Test
    void nothingIsEncodedOrCommittedForAPoisonedStream() {
        StreamCore s = (StreamCore) backend.openStream("s4");
        DeviceArray x = s.upload(new float[1], 1);
        s.raise(s.error(ErrorKind.PAGE_FAULT).build());
        assertThatThrownBy(() -> s.neg(x)).isInstanceOf(StreamFailedException.class);
        List<String> before = List.copyOf(engine.calls);
        for (int i = 0; i < 5; i++) {
            assertThatThrownBy(() -> s.neg(x)).isInstanceOf(StreamPoisonedException.class);
            assertThatThrownBy(s::synchronize).isInstanceOf(StreamPoisonedException.class);
            assertThatThrownBy(s::flush).isInstanceOf(StreamPoisonedException.class);
        }
        assertThat(engine.calls).isEqualTo(before);
    }

    @Test
    void stopFailsWorkInFlightWithBackendStoppedAndShutsTheEngineDownLast() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("stop");
        DeviceArray y = s.neg(s.upload(new float[1], 1));
        s.flush();
        engine.nextCommitted();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = readInBackground(y, outcome);
        Thread.sleep(50);
        backend.stop();
        reader.join();
        assertThat(outcome.get()).isInstanceOfSatisfying(org.backplane.api.StreamClosedException.class,
                e -> assertThat(e.error()).isNotNull());
        assertThat(engine.calls.getLast()).isEqualTo("shutdown");
        assertThat(engine.calls).contains("close " + s.id());
    }

    @Test
    void batchesAnEngineNeverReportsAreFailedSoNoWaiterHangs() throws Exception {
        engine.forgetsBatchesOnClose = true;
        StreamCore s = (StreamCore) backend.openStream("forgotten");
        DeviceArray y = s.neg(s.upload(new float[1], 1));
        s.flush();
        engine.nextCommitted();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = readInBackground(y, outcome);
        backend.stop();
        reader.join(); // the class timeout fails the test if the reader hangs
        assertThat(outcome.get()).isInstanceOf(org.backplane.api.StreamClosedException.class);
        assertThat(s.snapshot().opsFailed()).isEqualTo(1);
    }

    @Test
    void resetFailsBatchesOfTheOldGenerationThatTheEngineDropped() throws Exception {
        StreamCore s = (StreamCore) backend.openStream("dropped");
        s.neg(s.upload(new float[1], 1));
        s.flush();
        engine.nextCommitted(); // never reported
        s.raise(s.error(ErrorKind.TIMEOUT).build());
        backend.reset(s.id());
        assertThat(s.snapshot().opsFailed()).isEqualTo(1);
        assertThat(s.snapshot().generation()).isEqualTo(2);
    }
}
