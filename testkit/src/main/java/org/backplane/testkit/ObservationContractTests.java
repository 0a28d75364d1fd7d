package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.junit.jupiter.api.Test;

/** S8: every transition is observable through snapshots and listeners; listeners cannot hurt streams. */
public abstract class ObservationContractTests extends ContractTestSupport {

    @Test
    void s8_everyTransitionOfAStreamIsDeliveredInOrder() throws Exception {
        ComputeStream s = backend.openStream("s8-life");
        faults().raise(s.id(), ErrorKind.PAGE_FAULT, 3, "observed");
        StreamTransition failed = listener.await(s.id(), StreamTransition.Type.FAILED);
        assertThat(failed.snapshot().state()).isEqualTo(StreamState.FAILED);
        assertThat(failed.error().message()).isEqualTo("observed");
        assertThat(failed.from()).isEqualTo(StreamState.ACTIVE);

        assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);
        StreamTransition poisoned = listener.await(s.id(), StreamTransition.Type.POISONED);
        assertThat(poisoned.snapshot().state()).isEqualTo(StreamState.POISONED);

        backend.reset(s.id());
        StreamTransition reset = listener.await(s.id(), StreamTransition.Type.RESET);
        assertThat(reset.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThat(reset.snapshot().generation()).isEqualTo(2);

        s.close();
        StreamTransition closed = listener.await(s.id(), StreamTransition.Type.CLOSED);
        assertThat(closed.snapshot().state()).isEqualTo(StreamState.CLOSED);

        assertThat(listener.types(s.id()))
                .containsExactly(
                        StreamTransition.Type.OPENED,
                        StreamTransition.Type.FAILED,
                        StreamTransition.Type.POISONED,
                        StreamTransition.Type.RESET,
                        StreamTransition.Type.CLOSED);
        assertThat(closed.at()).isAfterOrEqualTo(failed.at());
    }

    @Test
    void s8_snapshotsShowStateGenerationErrorAndCounters() throws Exception {
        Instant opened = Instant.now();
        ComputeStream s = backend.openStream("s8-snap");
        DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
        for (int i = 0; i < 10; i++) {
            x = s.add(x, x);
        }
        s.synchronize();
        StreamSnapshot healthy = s.snapshot();
        assertThat(healthy.opsSubmitted()).isEqualTo(10);
        assertThat(healthy.opsCompleted()).isEqualTo(10);
        assertThat(healthy.opsFailed()).isZero();
        assertThat(healthy.createdAt()).isAfterOrEqualTo(opened.minusMillis(1));
        assertThat(backend.streams()).extracting(StreamSnapshot::id).contains(s.id());
        assertThat(backend.stream(s.id()))
                .hasValueSatisfying(snap -> assertThat(snap.label()).isEqualTo("s8-snap"));

        faults().raise(s.id(), ErrorKind.TIMEOUT, 2, "late");
        StreamSnapshot failed = backend.stream(s.id()).orElseThrow();
        assertThat(failed.state()).isEqualTo(StreamState.FAILED);
        assertThat(failed.firstError().kind()).isEqualTo(ErrorKind.TIMEOUT);
        assertThat(failed.isHealthy()).isFalse();
        assertThat(failed.stateSince()).isAfterOrEqualTo(healthy.stateSince());

        assertThatThrownBy(s::close)
                .as("the close reports what nobody observed (S13)")
                .isInstanceOf(StreamFailedException.class);
        assertThat(backend.stream(s.id())).isEmpty();
    }

    @Test
    void s8_listenersThatThrowOrBlockNeverAffectStreamsOrOtherListeners() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        backend.addStreamStateListener(throwingListener());
        backend.addStreamStateListener(blockingListener(release));
        try {
            ComputeStream s = backend.openStream("s8-bad-listeners");
            for (int round = 0; round < 5; round++) {
                DeviceArray x = s.upload(new float[] {round}, 1);
                assertThat(s.add(x, x).download()).containsExactly(2f * round);
                faults().raise(s.id(), ErrorKind.PAGE_FAULT, round, "round " + round);
                assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);
                backend.reset(s.id());
            }
            listener.await(
                    t -> t.stream().equals(s.id())
                            && t.type() == StreamTransition.Type.RESET
                            && t.snapshot().generation() == 6,
                    java.time.Duration.ofSeconds(30));
            assertThat(listener.count(s.id(), StreamTransition.Type.FAILED)).isEqualTo(5);
            assertThat(listener.count(s.id(), StreamTransition.Type.POISONED)).isEqualTo(5);
        } finally {
            release.countDown();
        }
        // Delivery is asynchronous but in order for each listener: the stream opens while the
        // listener is removed and closes after it was added again, so once its CLOSED arrives, an
        // OPENED before it could only have come through a removal that did not happen.
        backend.removeStreamStateListener(listener);
        ComputeStream quiet = backend.openStream("after-removal");
        backend.addStreamStateListener(listener);
        quiet.close();
        listener.await(quiet.id(), StreamTransition.Type.CLOSED);
        assertThat(listener.types(quiet.id()))
                .as("a removed listener hears nothing until it is added again")
                .containsExactly(StreamTransition.Type.CLOSED);
    }
}
