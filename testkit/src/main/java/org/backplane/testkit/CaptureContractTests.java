package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultRule;
import org.backplane.api.fault.Hold;
import org.junit.jupiter.api.Test;

/** S1 (capture never throws) and S2 (first error wins). */
public abstract class CaptureContractTests extends ContractTestSupport {

    @Test
    void s1_anExceptionInsideAnOpIsCapturedNeverThrownOnTheWorkerThread() throws Exception {
        ConcurrentLinkedQueue<Throwable> uncaught = new ConcurrentLinkedQueue<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        try {
            ComputeStream s = backend.openStream("s1-kernel");
            faults().schedule(FaultRule.atOp("s1-kernel", 2, ErrorKind.HOST_EXCEPTION));
            DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
            s.exp(x);
            s.neg(x);
            s.abs(x);
            Throwable reported = catchThrowable(s::synchronize);
            assertThat(reported).isInstanceOf(StreamFailedException.class);
            StreamError error = ((StreamFailedException) reported).error();
            assertThat(error.kind()).isEqualTo(ErrorKind.HOST_EXCEPTION);
            assertThat(error.sequence()).isEqualTo(2);
            assertThat(uncaught)
                    .as("nothing may escape on a thread the user does not own")
                    .isEmpty();
            // The stream's worker survived the failure: after a reset the same stream computes again.
            backend.reset(s.id());
            assertThat(s.neg(s.upload(new float[] {4}, 1)).download()).containsExactly(-4f);
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void s1_captureReturnsPromptlyEvenWhenListenersThrowOrBlock() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        // Blocking listener first: a capture that delivered synchronously would hang right there.
        backend.addStreamStateListener(blockingListener(release));
        backend.addStreamStateListener(throwingListener());
        try {
            ComputeStream s = backend.openStream("s1-listeners");
            // raise() captures on the calling thread, as a driver callback would; if capture waited for
            // listeners this call would never return and the test would time out.
            faults().raise(s.id(), ErrorKind.PAGE_FAULT, 3, "simulated driver callback");
            assertThat(s.snapshot().state()).isEqualTo(StreamState.FAILED);
            assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);
        } finally {
            release.countDown();
        }
    }

    @Test
    void s1_everyWaiterIsReleasedWhenTheWorkItWaitsForFails() throws Exception {
        ComputeStream s = backend.openStream("s1-waiters");
        faults().schedule(FaultRule.atOp("s1-waiters", 120, ErrorKind.TIMEOUT));
        // Held, so that the waiters wait for work that has not run yet, however fast the device is.
        Hold hold = faults().hold(s.id());
        List<DeviceArray> work = Workloads.chain(s, 1, 256, 200);
        List<Throwable> outcomes = Collections.synchronizedList(new ArrayList<>());
        List<Thread> waiters = new ArrayList<>();
        waiters.add(thread("sync-waiter", () -> outcomes.add(outcome(s::synchronize))));
        waiters.add(thread(
                "read-waiter", () -> outcomes.add(outcome(() -> work.getLast().download()))));
        waiters.add(thread("eval-waiter", () -> outcomes.add(outcome(() -> s.eval(work.get(150))))));
        awaitBlocked(waiters);
        assertThat(outcomes).as("nothing has run while held").isEmpty();
        hold.release();
        for (Thread t : waiters) {
            t.join(); // the class timeout fails the test if a waiter hangs
        }
        assertThat(outcomes).hasSize(3).allSatisfy(t -> assertThat(t).isInstanceOf(StreamErrorException.class));
        assertThat(outcomes.stream().filter(StreamFailedException.class::isInstance))
                .hasSize(1);
        assertThat(outcomes.stream().map(t -> ((StreamErrorException) t).error().kind()))
                .containsOnly(ErrorKind.TIMEOUT);
    }

    @Test
    void s2_theFirstErrorWinsAndLaterOnesAreCounted() throws Exception {
        ComputeStream s = backend.openStream("s2-first");
        faults().schedule(FaultRule.atOp("s2-first", 3, ErrorKind.PAGE_FAULT).withNativeCode(3));
        Instant before = Instant.now();
        DeviceArray x = s.upload(new float[] {1, 2}, 2);
        s.neg(x);
        s.abs(x);
        s.mul(x, x);
        s.exp(x);
        s.flush();
        listener.await(s.id(), StreamTransition.Type.FAILED);
        for (ErrorKind later : List.of(
                ErrorKind.TIMEOUT,
                ErrorKind.OUT_OF_MEMORY,
                ErrorKind.INTERNAL,
                ErrorKind.INVALID_ARGUMENT,
                ErrorKind.TIMEOUT,
                ErrorKind.PAGE_FAULT)) {
            faults().raise(s.id(), later, 99, "later error");
        }
        StreamSnapshot snap = s.snapshot();
        StreamError first = snap.firstError();
        assertThat(first.kind()).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(first.nativeCode()).isEqualTo(3);
        assertThat(first.sequence()).isEqualTo(3);
        assertThat(first.failedOp()).startsWith("mul");
        assertThat(first.backendId()).isEqualTo(backend.id());
        assertThat(first.stream()).isEqualTo(s.id());
        assertThat(first.streamLabel()).isEqualTo("s2-first");
        assertThat(first.generation()).isEqualTo(1);
        assertThat(first.time()).isBetween(before, Instant.now());
        assertThat(first.thread()).isNotEmpty();
        assertThat(snap.suppressedErrors()).isEqualTo(6);
        assertThat(snap.suppressed())
                .isNotEmpty()
                .hasSizeLessThanOrEqualTo(6)
                .allSatisfy(e -> assertThat(e.nativeCode()).isEqualTo(99));
        StreamFailedException report = (StreamFailedException) catchThrowable(s::synchronize);
        assertThat(report.error()).isEqualTo(first);
    }

    @Test
    void s2_concurrentCapturesKeepExactlyOneFirstError() throws Exception {
        ComputeStream s = backend.openStream("s2-race");
        int threads = 8;
        assertThat(concurrently(threads, id -> () -> faults().raise(s.id(), ErrorKind.INTERNAL, id, "raiser " + id)))
                .containsOnlyNulls();
        StreamSnapshot snap = s.snapshot();
        assertThat(snap.firstError().message()).startsWith("raiser ");
        assertThat(snap.suppressedErrors()).isEqualTo(threads - 1);
        StreamFailedException report = (StreamFailedException) catchThrowable(() -> s.neg(s.upload(new float[1], 1)));
        assertThat(report.error()).isEqualTo(snap.firstError());
        assertThat(listener.await(s.id(), StreamTransition.Type.FAILED).error()).isEqualTo(snap.firstError());
        assertThat(listener.count(s.id(), StreamTransition.Type.FAILED)).isEqualTo(1);
        assertThatThrownBy(s::synchronize).isInstanceOf(StreamPoisonedException.class);
    }

    @Test
    void s2_anErrorOfAnotherStreamNeverEntersThisStreamsSlot() throws Exception {
        ComputeStream a = backend.openStream("s2-a");
        ComputeStream b = backend.openStream("s2-b");
        faults().raise(a.id(), ErrorKind.PAGE_FAULT, 3, "on a");
        assertThat(b.snapshot().firstError()).isNull();
        assertThat(b.snapshot().suppressedErrors()).isZero();
        DeviceArray x = b.upload(new float[] {1, 2, 3}, 3);
        assertThat(b.add(x, x).download()).containsExactly(2, 4, 6);
    }
}
