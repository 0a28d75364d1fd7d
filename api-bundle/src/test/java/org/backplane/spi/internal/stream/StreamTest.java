package org.backplane.spi.internal.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.BatchPolicy;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.Op;
import org.backplane.spi.ResultChecker;
import org.backplane.spi.internal.backend.CoreBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamTest {
    private final ManualEngine engine = new ManualEngine();
    private CoreBackend backend = ManualEngine.backend(
            engine,
            BackendSettings.DEFAULT.withTimeouts(Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(2)));

    @AfterEach
    void stop() {
        backend.stop();
    }

    private void useSettings(BackendSettings settings) {
        backend.stop();
        backend = ManualEngine.backend(engine, settings);
    }

    /** The facades the tests hold (the stream itself does not keep its facade). */
    private final Map<Stream, StreamImpl> facades = new ConcurrentHashMap<>();

    private Stream open(String label) {
        StreamImpl facade = (StreamImpl) backend.openStream(label);
        facades.put(facade.owner, facade);
        return facade.owner;
    }

    private StreamImpl facade(Stream s) {
        return facades.get(s);
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
        Stream s = open("alloc");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 200_000; i++) {
            s.slot.enter();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000_000; i++) {
            s.slot.enter();
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
        assertThat(checked)
                .as("bytes allocated by a million healthy entry checks")
                .isLessThan(1_000_000);
    }

    @Test
    void theHealthyEntryCheckTakesNoLock() throws Exception {
        Stream s = open("lock");
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            s.slot.encodeLock.lock();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                s.slot.encodeLock.unlock();
            }
        });
        held.await();
        try {
            assertThat(s.slot.enter()).isSameAs(s.slot.current()); // would block (and time out) if it locked
            assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        } finally {
            release.countDown();
            holder.join();
        }
    }

    @Test
    void batchesAreCommittedAfterMaxOpsOrMaxBytesOrAtEval() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(3, 400, 8)));
        Stream s = open("batching");
        DeviceArray x = facade(s).upload(new float[10], 10);
        facade(s).neg(x);
        facade(s).neg(x);
        assertThat(engine.committed).isEmpty();
        facade(s).neg(x);
        assertThat(engine.nextCommitted().size()).isEqualTo(3); // by op count
        DeviceArray big = facade(s).upload(new float[100], 100);
        facade(s).neg(big); // 400 bytes of output reach maxBytes
        assertThat(engine.nextCommitted().size()).isEqualTo(1);
        DeviceArray y = facade(s).neg(x);
        Thread evaluator = Thread.ofPlatform().start(() -> facade(s).eval(y));
        CommandBatch atEval = engine.nextCommitted();
        assertThat(atEval.size()).isEqualTo(1);
        engine.complete(atEval);
        evaluator.join();
        assertThat(y.isReady()).isTrue();
    }

    @Test
    void backPressureHoldsSubmittersAtMaxInFlightUntilABatchEnds() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(1, 1L << 30, 2)));
        Stream s = open("pressure");
        DeviceArray x = facade(s).upload(new float[1], 1);
        facade(s).neg(x);
        facade(s).neg(x);
        CountDownLatch third = new CountDownLatch(1);
        Thread submitter = Thread.ofPlatform().start(() -> {
            facade(s).neg(x);
            third.countDown();
        });
        CommandBatch first = engine.nextCommitted();
        engine.nextCommitted();
        awaitWaiting(submitter);
        assertThat(third.getCount())
                .as("third submission waits while two batches are in flight")
                .isEqualTo(1);
        engine.complete(first);
        assertThat(third.await(10, TimeUnit.SECONDS)).isTrue();
        submitter.join();
    }

    @Test
    void aSubmitterHeldByBackPressureIsReleasedWhenTheStreamFails() throws Exception {
        useSettings(BackendSettings.DEFAULT.withBatching(new BatchPolicy(1, 1L << 30, 1)));
        Stream s = open("pressure-fail");
        DeviceArray x = facade(s).upload(new float[1], 1);
        facade(s).neg(x);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread submitter = Thread.ofPlatform().start(() -> {
            try {
                facade(s).neg(x);
                facade(s).synchronize();
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        CommandBatch inFlight = engine.nextCommitted();
        s.sink.failed(inFlight, s.error(ErrorKind.PAGE_FAULT).batch(inFlight).build());
        submitter.join();
        assertThat(outcome.get()).isInstanceOf(StreamFailedException.class);
        assertThat(engine.committed)
                .as("nothing is committed once the stream failed (S4)")
                .isEmpty();
    }

    @Test
    void aLateErrorFromAResetGenerationNeverPoisonsTheNewOne() throws Exception {
        Stream s = open("late");
        DeviceArray x = facade(s).upload(new float[1], 1);
        facade(s).neg(x);
        facade(s).flush();
        CommandBatch old = engine.nextCommitted();
        s.raise(s.error(ErrorKind.TIMEOUT).message("hang").build());
        backend.reset(s.id); // the old batch is still "on the device"; reset gives up waiting after 200 ms
        assertThat(s.snapshot().generation()).isEqualTo(2);

        s.sink.failed(old, s.error(ErrorKind.PAGE_FAULT).batch(old).build()); // its callback arrives late

        assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThat(s.snapshot().firstError()).isNull();
        DeviceArray y = facade(s).neg(facade(s).upload(new float[] {3}, 1));
        // The reader's outcome comes back to this thread: an assertion failing on the reader's own
        // thread would go to its uncaught-exception handler and the test would pass regardless.
        CompletableFuture<float[]> read = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                read.complete(y.download());
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        engine.complete(engine.nextCommitted());
        assertThat(read.get(30, TimeUnit.SECONDS))
                .as("the new generation's work completes with its data")
                .hasSize(1); // the test engine computes nothing: the point is data, not an error
    }

    @Test
    void aBatchReportedTwiceCountsOnce() throws Exception {
        Stream s = open("twice");
        DeviceArray x = facade(s).upload(new float[1], 1);
        facade(s).neg(x);
        facade(s).flush();
        CommandBatch b = engine.nextCommitted();
        engine.complete(b);
        s.sink.failed(b, s.error(ErrorKind.PAGE_FAULT).batch(b).build()); // a confused driver reports again
        s.sink.completed(b);
        assertThat(s.snapshot().opsCompleted()).isEqualTo(1);
        assertThat(s.snapshot().opsFailed()).isZero();
        // the error is still captured: a second report of failure is a failure the slot must record
        assertThat(s.snapshot().state()).isEqualTo(StreamState.FAILED);
    }

    @Test
    void aBatchCompletingAfterItsGenerationFailedYieldsNoData() throws Exception {
        Stream s = open("after-failure");
        DeviceArray x = facade(s).upload(new float[1], 1);
        DeviceArray y = facade(s).neg(x);
        facade(s).flush();
        CommandBatch b = engine.nextCommitted();
        s.raise(s.error(ErrorKind.DEVICE_LOST).message("lost while running").build());
        engine.complete(b); // the driver says it finished, but it was in flight when the stream failed
        assertThat(y.isReady()).isFalse();
        assertThatThrownBy(y::download).isInstanceOf(StreamFailedException.class);
        assertThatThrownBy(y::download).isInstanceOf(StreamPoisonedException.class);
        backend.reset(s.id);
        assertThatThrownBy(y::download).isInstanceOf(StaleGenerationException.class);
    }

    @Test
    void anArrayInFlightWhenItsStreamFailedIsUnusableOnOtherStreams() throws Exception {
        Stream a = open("producer");
        Stream b = open("consumer");
        DeviceArray x = facade(a).neg(facade(a).upload(new float[] {1}, 1));
        facade(a).flush();
        CommandBatch produced = engine.nextCommitted();
        a.raise(a.error(ErrorKind.DEVICE_LOST)
                .message("lost while x was computed")
                .build());
        engine.complete(produced); // the driver reports the buffer done after the failure
        DeviceArray y = facade(b).add(x, facade(b).upload(new float[] {1}, 1));
        facade(b).flush();
        engine.complete(engine.nextCommitted()); // b's work ran on whatever x held
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.UPSTREAM_FAILURE);
            assertThat(e.error().upstream().message()).isEqualTo("lost while x was computed");
        });
    }

    @Test
    void theEngineIsNeverClosedWhileAnUploadIsInsideIt() throws Exception {
        // A GPU engine's upload uses the stream's native copy queue; closing it under the upload crashed
        // the JVM in libcuda (s11_stopWhileThreadsSubmitNeverHangsOrLosesWorkSilently on an H200).
        Stream s = open("uploading");
        engine.uploading = new CountDownLatch(1);
        engine.releaseUploads = new CountDownLatch(1);
        Thread uploader = Thread.ofPlatform().start(() -> facade(s).upload(new float[] {1}, 1));
        assertThat(engine.uploading.await(5, TimeUnit.SECONDS)).isTrue();
        Thread closer = Thread.ofPlatform().start(facade(s)::close);
        awaitWaiting(closer); // the close waits for the upload to leave the engine
        engine.releaseUploads.countDown();
        uploader.join(5000);
        closer.join(5000);
        List<String> order = engine.calls.stream()
                .filter(c -> c.startsWith("upload") || c.startsWith("close"))
                .toList();
        assertThat(order).containsExactly("upload begins " + s.id, "upload ends " + s.id, "close " + s.id);
        assertThatThrownBy(() -> facade(s).upload(new float[] {1}, 1)).isInstanceOf(StreamClosedException.class);
    }

    @Test
    void aMismatchFoundByTheResultCheckerPoisonsTheStream() throws Exception {
        Stream s = open("checked");
        backend.install(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.op() instanceof Op.Unary;
            }

            @Override
            public String check(Command command, MemorySegment[] inputs, MemorySegment output) {
                float in = inputs[0].get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
                float out = output.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
                return out == -in ? null : "element 0 is " + out + ", expected " + -in;
            }
        });
        DeviceArray y = facade(s).neg(facade(s).upload(new float[] {2}, 1));
        facade(s).flush();
        engine.complete(engine.nextCommitted()); // the manual engine writes zeros: wrong
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
            assertThat(e.error().message()).isEqualTo("element 0 is 0.0, expected -2.0");
            assertThat(e.error().failedOp()).startsWith("neg");
        });
    }

    @Test
    void batchesAfterOneAwaitingItsCheckAreReleasedOnlyAfterIt() throws Exception {
        Stream s = open("ordered");
        CountDownLatch checking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        backend.install(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.sequence() == 1;
            }

            @Override
            public String check(Command command, MemorySegment[] inputs, MemorySegment output) {
                checking.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            }
        });
        DeviceArray x = facade(s).upload(new float[1], 1);
        DeviceArray first = facade(s).neg(x);
        facade(s).flush();
        CommandBatch b1 = engine.nextCommitted();
        DeviceArray second = facade(s).abs(x);
        facade(s).flush();
        CommandBatch b2 = engine.nextCommitted();
        engine.complete(b1);
        checking.await();
        engine.complete(b2); // done on the device, but behind a pending check
        assertThat(first.isReady()).isFalse();
        assertThat(second.isReady())
                .as("a later batch is not released ahead of a pending check")
                .isFalse();
        assertThat(s.snapshot().opsCompleted()).isZero();
        release.countDown();
        facade(s).synchronize();
        assertThat(first.isReady()).isTrue();
        assertThat(second.isReady()).isTrue();
        assertThat(s.snapshot().opsCompleted()).isEqualTo(2);
    }

    @Test
    void aConsumerFinishedOnTheDeviceWaitsForItsProducersCheckAndFailsIfTheProducerWasWrong() throws Exception {
        Stream a = open("producer-checked");
        Stream b = open("consumer");
        CountDownLatch checking = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        backend.install(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                return command.output().stream().equals(a.id);
            }

            @Override
            public String check(Command command, MemorySegment[] inputs, MemorySegment output) {
                checking.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return "silently corrupted";
            }
        });
        DeviceArray x = facade(a).neg(facade(a).upload(new float[] {1}, 1));
        facade(a).flush();
        CommandBatch produced = engine.nextCommitted();
        DeviceArray y = facade(b).add(x, facade(b).upload(new float[] {1}, 1));
        facade(b).flush();
        CommandBatch consumed = engine.nextCommitted();
        engine.complete(produced);
        checking.await();
        engine.complete(consumed); // a GPU finishes the consumer while the producer's check still runs
        assertThat(y.isReady())
                .as("not released before its input is known good")
                .isFalse();
        release.countDown();
        assertThatThrownBy(y::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.UPSTREAM_FAILURE);
            assertThat(e.error().upstream().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
        });
    }

    @Test
    void aDiscardedBatchFailsWithItsGenerationsError() throws Exception {
        Stream s = open("discard");
        DeviceArray y = facade(s).neg(facade(s).upload(new float[1], 1));
        facade(s).flush();
        CommandBatch b = engine.nextCommitted();
        s.raise(s.error(ErrorKind.TIMEOUT).build());
        assertThat(b.shouldRun()).isFalse();
        s.sink.discarded(b);
        assertThat(s.snapshot().opsFailed()).isEqualTo(1);
        assertThatThrownBy(y::download).isInstanceOf(StreamFailedException.class);
    }

    @Test
    void nothingIsEncodedOrCommittedForAPoisonedStream() {
        Stream s = open("s4");
        DeviceArray x = facade(s).upload(new float[1], 1);
        s.raise(s.error(ErrorKind.PAGE_FAULT).build());
        assertThatThrownBy(() -> facade(s).neg(x)).isInstanceOf(StreamFailedException.class);
        List<String> before = List.copyOf(engine.calls);
        for (int i = 0; i < 5; i++) {
            assertThatThrownBy(() -> facade(s).neg(x)).isInstanceOf(StreamPoisonedException.class);
            assertThatThrownBy(facade(s)::synchronize).isInstanceOf(StreamPoisonedException.class);
            assertThatThrownBy(facade(s)::flush).isInstanceOf(StreamPoisonedException.class);
        }
        assertThat(engine.calls).isEqualTo(before);
    }

    @Test
    void stopFailsWorkInFlightWithBackendStoppedAndShutsTheEngineDownLast() throws Exception {
        Stream s = open("stop");
        DeviceArray y = facade(s).neg(facade(s).upload(new float[1], 1));
        facade(s).flush();
        engine.nextCommitted();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = readInBackground(y, outcome);
        awaitWaiting(reader);
        backend.stop();
        reader.join();
        assertThat(outcome.get())
                .isInstanceOfSatisfying(
                        org.backplane.api.StreamClosedException.class,
                        e -> assertThat(e.error()).isNotNull());
        assertThat(engine.calls.getLast()).isEqualTo("shutdown");
        assertThat(engine.calls).contains("close " + s.id());
    }

    @Test
    void batchesAnEngineNeverReportsAreFailedSoNoWaiterHangs() throws Exception {
        engine.forgetsBatchesOnClose = true;
        Stream s = open("forgotten");
        DeviceArray y = facade(s).neg(facade(s).upload(new float[1], 1));
        facade(s).flush();
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
        Stream s = open("dropped");
        facade(s).neg(facade(s).upload(new float[1], 1));
        facade(s).flush();
        engine.nextCommitted(); // never reported
        s.raise(s.error(ErrorKind.TIMEOUT).build());
        backend.reset(s.id);
        assertThat(s.snapshot().opsFailed()).isEqualTo(1);
        assertThat(s.snapshot().generation()).isEqualTo(2);
    }

    /** Waits (at most 10 s) until {@code t} is parked or blocked: waiting for what the test holds back. */
    private static void awaitWaiting(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!switch (t.getState()) {
            case WAITING, TIMED_WAITING, BLOCKED -> true;
            default -> false;
        }) {
            assertThat(System.nanoTime())
                    .as("%s never waited (%s)", t.getName(), t.getState())
                    .isLessThan(deadline);
            Thread.sleep(1);
        }
    }
}
