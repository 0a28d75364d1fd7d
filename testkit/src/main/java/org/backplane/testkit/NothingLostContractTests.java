package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Test;

/**
 * S13: nothing is lost. {@code close()} reports a failure nobody observed; arrays read after close
 * as they did before it; an error belongs to the generation it was raised against, whatever a reset
 * does meanwhile; the counters and op numbers of a stream tell what happened.
 */
public abstract class NothingLostContractTests extends ContractTestSupport {

    /** No memory limit of Backplane's own (a pebibyte): here the device itself must refuse. */
    @Override
    protected BackendSettings settings() {
        return withoutOwnMemoryLimit(super.settings());
    }

    @Test
    void s13_closeReportsAFailureNobodyObserved() {
        ComputeStream s = backend.openStream("s13-close");
        s.eval(s.neg(s.upload(new float[] {1}, 1)));
        faults().raise(s.id(), ErrorKind.PAGE_FAULT, 7, "nobody looked");

        StreamFailedException reported = catchThrowableOfType(StreamFailedException.class, s::close);

        assertThat(reported)
                .as("close() must report the failure nobody observed")
                .isNotNull();
        assertThat(reported.error().kind()).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(reported.error().nativeCode()).isEqualTo(7);
        assertThat(backend.stream(s.id()))
                .as("the stream is closed all the same")
                .isEmpty();
        assertThatCode(s::close).as("reported once (S3), closed once").doesNotThrowAnyException();
    }

    @Test
    void s13_tryWithResourcesDoesNotSwallowAFailedOp() {
        faults().schedule(FaultRule.atOp("s13-twr", 1, ErrorKind.PAGE_FAULT));
        StreamFailedException reported = catchThrowableOfType(StreamFailedException.class, () -> {
            try (ComputeStream s = backend.openStream("s13-twr")) {
                s.relu(s.upload(new float[] {-1, 1}, 2)); // queued, never waited for
            }
        });
        assertThat(reported).as("the op's failure must come out of the block").isNotNull();
        assertThat(reported.error().kind()).isEqualTo(ErrorKind.PAGE_FAULT);
        assertThat(reported.error().sequence()).isEqualTo(1);
    }

    @Test
    void s13_closeAfterTheFailureWasReportedDoesNotReportItAgain() {
        ComputeStream s = backend.openStream("s13-reported");
        faults().raise(s.id(), ErrorKind.TIMEOUT, 1, "seen");
        assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);
        assertThatCode(s::close).doesNotThrowAnyException();
    }

    @Test
    void s13_arraysReadAfterCloseAsTheyDidBefore() {
        ComputeStream healthy = backend.openStream("s13-healthy");
        DeviceArray computed = healthy.neg(healthy.upload(new float[] {3, 4}, 2));
        healthy.eval(computed);
        healthy.close();
        assertThat(computed.download())
                .as("computed by a healthy stream: readable")
                .containsExactly(-3, -4);

        ComputeStream failed = backend.openStream("s13-failed");
        DeviceArray before = failed.neg(failed.upload(new float[] {1, 2}, 2));
        failed.eval(before);
        faults().raise(failed.id(), ErrorKind.PAGE_FAULT, 3, "after the array was computed");
        assertThatThrownBy(before::download).isInstanceOf(StreamFailedException.class);
        assertThatThrownBy(before::download).isInstanceOf(StreamPoisonedException.class);
        failed.close();
        StreamClosedException refused = catchThrowableOfType(StreamClosedException.class, before::download);
        assertThat(refused).as("refused while poisoned, so refused after close").isNotNull();
        assertThat(refused.error()).isNotNull();
        assertThat(refused.error().kind()).isEqualTo(ErrorKind.PAGE_FAULT);
    }

    @Test
    void s13_anErrorRaisedAsTheStreamIsResetNeverPoisonsTheNewGeneration() throws Exception {
        ComputeStream s = backend.openStream("s13-race");
        ExecutorService two = Executors.newFixedThreadPool(2);
        List<String> stale = new ArrayList<>();
        try {
            for (int i = 0; i < 3_000; i++) {
                faults().raise(s.id(), ErrorKind.TIMEOUT, 1, "before the reset");
                CyclicBarrier start = new CyclicBarrier(2);
                Future<?> raise = two.submit(() -> {
                    start.await();
                    faults().raise(s.id(), ErrorKind.PAGE_FAULT, 2, "raised as the reset runs");
                    return null;
                });
                Future<?> reset = two.submit(() -> {
                    start.await();
                    return backend.reset(s.id());
                });
                raise.get();
                reset.get();
                StreamSnapshot now = s.snapshot();
                StreamError first = now.firstError();
                if (first != null && first.generation() != now.generation()) {
                    stale.add("round " + i + ": generation " + now.generation() + " holds " + first.describe());
                }
                backend.reset(s.id());
            }
        } finally {
            two.shutdownNow();
        }
        assertThat(stale)
                .as("errors of a replaced generation found in the new one")
                .isEmpty();
    }

    @Test
    void s13_countersAndOpNumbersTellWhatHappened() {
        ComputeStream s = backend.openStream("s13-counters");
        DeviceArray x = s.upload(new float[] {1, 2}, 2);
        for (int i = 0; i < 5; i++) {
            x = s.neg(x);
        }
        s.synchronize();
        StreamSnapshot healthy = s.snapshot();
        assertThat(healthy.opsSubmitted()).isEqualTo(5);
        assertThat(healthy.opsCompleted()).isEqualTo(5);
        assertThat(healthy.opsFailed()).isZero();

        faults().schedule(FaultRule.atOp("s13-counters", 6, ErrorKind.PAGE_FAULT));
        s.neg(x);
        StreamFailedException first = catchThrowableOfType(StreamFailedException.class, s::synchronize);
        assertThat(first).isNotNull();
        assertThat(first.error().sequence()).isEqualTo(6);
        StreamSnapshot failed = s.snapshot();
        assertThat(failed.opsSubmitted()).isEqualTo(6);
        assertThat(failed.opsFailed()).isEqualTo(1);
        assertThat(failed.opsCompleted() + failed.opsFailed()).isEqualTo(failed.opsSubmitted());

        backend.reset(s.id());
        faults().schedule(FaultRule.atOp("s13-counters", 7, ErrorKind.PAGE_FAULT));
        s.neg(s.upload(new float[] {1}, 1));
        StreamFailedException second = catchThrowableOfType(StreamFailedException.class, s::synchronize);
        assertThat(second).isNotNull();
        assertThat(second.error().sequence())
                .as("op numbers go on after a reset")
                .isEqualTo(7);
    }

    /**
     * The stream's snapshot once no op of it is in flight (work queued behind a failed op is dropped
     * by the backend within moments of the report).
     */
    private static StreamSnapshot settled(ComputeStream s) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        StreamSnapshot snap = s.snapshot();
        while (snap.opsCompleted() + snap.opsFailed() < snap.opsSubmitted() && System.nanoTime() < deadline) {
            Thread.sleep(5);
            snap = s.snapshot();
        }
        return snap;
    }

    @Test
    void s13_anAllocationTheDeviceRefusesIsCountedAndNumberedLikeAnyFailedOp() throws Exception {
        long elements = fixture().outOfMemoryElements();
        assumeThat(elements).as("fixture can drive the backend out of memory").isPositive();
        int rows = (int) Math.min(Integer.MAX_VALUE, elements / 1024);
        ComputeStream s = backend.openStream("s13-oom-counters");
        @SuppressWarnings("ModifiedButNotUsed") // holding the arrays is the point
        List<DeviceArray> held = new ArrayList<>();
        StreamFailedException first = null;
        try {
            for (int i = 0; i < 4; i++) {
                held.add(s.full(1f, rows, 1024));
            }
            s.synchronize();
        } catch (StreamFailedException e) {
            first = e;
        }
        assertThat(first).as("four arrays of 40%% of memory must not fit").isNotNull();
        assertThat(first.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
        StreamSnapshot after = settled(s);
        assertThat(after.opsFailed()).as("%s", after).isPositive();
        assertThat(after.opsCompleted() + after.opsFailed()).as("%s", after).isEqualTo(after.opsSubmitted());

        // Reset while the arrays still hold the memory: the first op of the new generation is refused too.
        backend.reset(s.id());
        StreamFailedException second = catchThrowableOfType(StreamFailedException.class, () -> {
            s.full(1f, rows, 1024);
            s.synchronize();
        });
        assertThat(second).as("the memory is still held").isNotNull();
        assertThat(second.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
        assertThat(second.error().sequence())
                .as("two different failed ops never share a number, across a reset too")
                .isGreaterThan(first.error().sequence());
        StreamSnapshot again = settled(s);
        assertThat(again.opsFailed()).as("%s", again).isGreaterThan(after.opsFailed());
        assertThat(again.opsCompleted() + again.opsFailed()).as("%s", again).isEqualTo(again.opsSubmitted());
        held.clear();
        System.gc();
        backend.reset(s.id());
        assertThat(s.sum(s.full(1f, 10)).download()).containsExactly(10f);
    }
}
