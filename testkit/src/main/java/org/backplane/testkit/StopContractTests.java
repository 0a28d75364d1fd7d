package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.backplane.api.BackendState;
import org.backplane.api.BackendStoppedException;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamError;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.Hold;
import org.junit.jupiter.api.Test;

/**
 * S11: stopping a backend while work is in flight fails that work with BACKEND_STOPPED, releases
 * every waiter, closes every stream, and leaves none of the backend's threads behind.
 */
public abstract class StopContractTests extends ContractTestSupport {

    @Test
    void s11_stopWithWorkInFlightFailsItReleasesWaitersAndLeavesNoThreads() throws Exception {
        List<ComputeStream> streams = new ArrayList<>();
        List<Throwable> outcomes = Collections.synchronizedList(new ArrayList<>());
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ComputeStream s = backend.openStream("s11-" + i);
            streams.add(s);
            faults().hold(s.id()); // the work is surely in flight at stop; stopping releases the hold
            DeviceArray last = Workloads.busy(s, i, 384, 100);
            waiters.add(thread("stop-waiter-" + i, () -> outcomes.add(outcome(s::synchronize))));
            waiters.add(thread("stop-reader-" + i, () -> outcomes.add(outcome(last::download))));
        }
        awaitBlocked(waiters);
        fixture().stop(backend);

        for (Thread t : waiters) {
            t.join(); // a waiter left hanging fails the test by its timeout
        }
        assertThat(backend.state()).isEqualTo(BackendState.STOPPED);
        long stopped = outcomes.stream()
                .filter(t -> t instanceof StreamClosedException c
                        && c.error() != null
                        && c.error().kind() == ErrorKind.BACKEND_STOPPED)
                .count();
        assertThat(outcomes)
                .as("each waiter gets its data (the work finished within the grace) or BACKEND_STOPPED, nothing else")
                .hasSize(8)
                .allSatisfy(t -> {
                    if (t != null) {
                        assertThat(t)
                                .isInstanceOfSatisfying(
                                        StreamClosedException.class,
                                        c -> assertThat(c.error())
                                                .isNotNull()
                                                .extracting(StreamError::kind)
                                                .isEqualTo(ErrorKind.BACKEND_STOPPED));
                    }
                });
        assertThat(stopped)
                .as("work in flight at stop fails with BACKEND_STOPPED")
                .isPositive();
        assertNoBackendThreads();
        for (ComputeStream s : streams) {
            listener.await(s.id(), StreamTransition.Type.CLOSED);
            assertThatThrownBy(() -> s.full(1f, 1))
                    .isInstanceOf(StreamClosedException.class)
                    .hasMessageContaining("stopped")
                    .satisfies(e -> assertThat(((StreamClosedException) e).error())
                            .as("the refusal names the stop")
                            .isNotNull()
                            .extracting(StreamError::kind)
                            .isEqualTo(ErrorKind.BACKEND_STOPPED));
        }
        assertThatThrownBy(() -> backend.openStream("after-stop")).isInstanceOf(BackendStoppedException.class);
        fixture().stop(backend); // idempotent
    }

    @Test
    void s11_stopWhileThreadsSubmitNeverHangsOrLosesWorkSilently() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
        List<Thread> submitters = new ArrayList<>();
        CountDownLatch eachSubmitted = new CountDownLatch(4);
        for (int t = 0; t < 4; t++) {
            ComputeStream s = backend.openStream("s11-submit-" + t);
            submitters.add(thread("s11-submitter-" + t, () -> {
                try {
                    boolean counted = false;
                    while (running.get()) {
                        DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
                        float[] y = s.mul(x, x).download();
                        if (y[2] != 9f) {
                            unexpected.add(new AssertionError("wrong result " + y[2]));
                        }
                        if (!counted) {
                            eachSubmitted.countDown();
                            counted = true;
                        }
                    }
                } catch (StreamClosedException e) {
                    // stopped under this thread: the call fails, naming the stop
                    if (e.error() == null || e.error().kind() != ErrorKind.BACKEND_STOPPED) {
                        unexpected.add(e);
                    }
                } catch (StreamErrorException e) {
                    if (e.error().kind() != ErrorKind.BACKEND_STOPPED) {
                        unexpected.add(e);
                    }
                } catch (BackendStoppedException expected) {
                    // stopped before the call reached the stream
                } catch (Throwable e) {
                    unexpected.add(e);
                }
            }));
        }
        assertThat(eachSubmitted.await(30, TimeUnit.SECONDS))
                .as("every submitter is running when the backend stops")
                .isTrue();
        fixture().stop(backend);
        for (Thread t : submitters) {
            t.join();
        }
        running.set(false);
        assertThat(unexpected).isEmpty();
        assertNoBackendThreads();
    }

    @Test
    void s11_closingAStreamLetsItsQueuedWorkFinish() throws Exception {
        float[] expected;
        try (ComputeStream reference = backend.openStream("s11-close-reference")) {
            expected = Workloads.chain(reference, 3, 64, 50).getLast().download();
        }
        ComputeStream s = backend.openStream("s11-close");
        List<DeviceArray> work = Workloads.chain(s, 3, 64, 50);
        s.close();
        assertThat(work.getLast().download())
                .as("the queued chain, computed before the close returned")
                .isEqualTo(expected);
        assertThatThrownBy(s::synchronize)
                .isInstanceOf(StreamClosedException.class)
                .hasMessageContaining("closed");
        s.close(); // idempotent
        assertThat(backend.stream(s.id())).isEmpty();
    }

    @Test
    void s11_closingAHeldStreamReleasesTheHoldAndLetsItsWorkFinish() throws Exception {
        ComputeStream s = backend.openStream("s11-held");
        Hold hold = faults().hold(s.id());
        DeviceArray y = s.neg(s.upload(new float[] {1, 2}, 2));
        s.flush();
        assertThat(s.snapshot().opsCompleted()).as("nothing runs while held").isZero();
        assertThat(hold.isReleased()).isFalse();
        s.close(); // must not wait for the test's hold
        assertThat(hold.isReleased()).isTrue();
        assertThat(y.download()).containsExactly(-1f, -2f);
        assertThatThrownBy(() -> faults().hold(s.id())).isInstanceOf(IllegalArgumentException.class);
    }

    private void assertNoBackendThreads() {
        List<String> left = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            for (String prefix : fixture().threadNamePrefixes()) {
                if (t.isAlive() && t.getName().startsWith(prefix)) {
                    left.add(t.getName());
                }
            }
        }
        assertThat(left).as("threads of the stopped backend").isEmpty();
    }
}
