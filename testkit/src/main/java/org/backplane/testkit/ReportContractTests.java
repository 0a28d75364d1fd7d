package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
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
import org.junit.jupiter.api.Test;

/** S3 (the error is reported exactly once) and S4 (then every call is refused until reset). */
public abstract class ReportContractTests extends ContractTestSupport {

    /** Every kind of user-thread entry on a stream, given the stream and a ready array of it. */
    static final Map<String, BiConsumer<ComputeStream, DeviceArray>> ENTRIES = Map.of(
            "submit an op", (s, a) -> s.exp(a),
            "binary op", (s, a) -> s.add(a, a),
            "full", (s, a) -> s.full(1f, 2),
            "upload", (s, a) -> s.upload(new float[] {1}, 1),
            "eval", (s, a) -> s.eval(a),
            "synchronize", (s, a) -> s.synchronize(),
            "read an array", (s, a) -> a.download());

    @Test
    void s3_theFirstEntryOfAnyKindReportsTheOriginalError() throws Exception {
        for (Map.Entry<String, BiConsumer<ComputeStream, DeviceArray>> entry : ENTRIES.entrySet()) {
            ComputeStream s = backend.openStream("s3-" + entry.getKey());
            DeviceArray ready = s.upload(new float[] {1, 2}, 2);
            faults().raise(s.id(), ErrorKind.PAGE_FAULT, 3, "fault for " + entry.getKey());
            StreamError captured = s.snapshot().firstError();
            assertThatThrownBy(() -> entry.getValue().accept(s, ready))
                    .as(entry.getKey())
                    .isInstanceOfSatisfying(
                            StreamFailedException.class,
                            e -> assertThat(e.error()).isEqualTo(captured));
            assertThat(s.snapshot().state()).as(entry.getKey()).isEqualTo(StreamState.POISONED);
        }
    }

    @Test
    void s3_concurrentEntriesSeeTheReportExactlyOnce() throws Exception {
        ComputeStream s = backend.openStream("s3-race");
        DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
        faults().schedule(FaultRule.atOp("s3-race", 1, ErrorKind.OUT_OF_MEMORY));
        s.exp(x);
        s.flush();
        listener.await(s.id(), StreamTransition.Type.FAILED);
        int threads = 8;
        List<Throwable> outcomes = concurrently(threads, id -> id % 2 == 0 ? s::synchronize : () -> s.neg(x));
        assertThat(outcomes).hasSize(threads).allSatisfy(t -> assertThat(t).isInstanceOf(StreamErrorException.class));
        assertThat(outcomes.stream().filter(StreamFailedException.class::isInstance))
                .hasSize(1);
        assertThat(outcomes.stream().filter(StreamPoisonedException.class::isInstance))
                .hasSize(threads - 1);
        StreamError original = s.snapshot().firstError();
        assertThat(outcomes)
                .allSatisfy(t -> assertThat(((StreamErrorException) t).error()).isEqualTo(original));
        assertThat(listener.count(s.id(), StreamTransition.Type.POISONED)).isLessThanOrEqualTo(1);
        assertThat(listener.await(s.id(), StreamTransition.Type.POISONED).from())
                .isEqualTo(StreamState.FAILED);
    }

    @Test
    void s3_otherStreamsNeverSeeTheReport() throws Exception {
        ComputeStream failing = backend.openStream("s3-failing");
        ComputeStream healthy = backend.openStream("s3-healthy");
        DeviceArray x = healthy.upload(new float[] {1, -2}, 2);
        faults().raise(failing.id(), ErrorKind.PAGE_FAULT, 3, "only here");
        for (Map.Entry<String, BiConsumer<ComputeStream, DeviceArray>> entry : ENTRIES.entrySet()) {
            entry.getValue().accept(healthy, x); // must not throw
        }
        assertThat(healthy.abs(x).download()).containsExactly(1, 2);
        assertThat(healthy.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThatThrownBy(failing::synchronize).isInstanceOf(StreamFailedException.class);
    }

    @Test
    void s4_everyLaterEntryIsRefusedAndNothingRunsUntilReset() throws Exception {
        ComputeStream s = backend.openStream("s4");
        DeviceArray ready = s.upload(new float[] {1, 2}, 2);
        DeviceArray computed = s.neg(ready);
        s.eval(computed);
        faults().raise(s.id(), ErrorKind.PAGE_FAULT, 3, "poison");
        assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);
        StreamSnapshot before = s.snapshot();
        for (int round = 0; round < 3; round++) {
            for (Map.Entry<String, BiConsumer<ComputeStream, DeviceArray>> entry : ENTRIES.entrySet()) {
                assertThatThrownBy(() -> entry.getValue().accept(s, computed))
                        .as(entry.getKey())
                        .isInstanceOfSatisfying(StreamPoisonedException.class, e -> {
                            assertThat(e.error()).isEqualTo(before.firstError());
                            assertThat(e.getMessage()).contains("reset").contains(s.id().toString());
                        });
            }
        }
        StreamSnapshot after = s.snapshot();
        assertThat(after.state()).isEqualTo(StreamState.POISONED);
        assertThat(after.opsSubmitted())
                .as("nothing is encoded for a poisoned stream")
                .isEqualTo(before.opsSubmitted());
        assertThat(after.opsCompleted()).isEqualTo(before.opsCompleted());
        backend.reset(s.id());
        // A stream's transitions arrive in order (S8): once its RESET is seen, every POISONED the
        // refused entries could have caused was delivered before it.
        listener.await(s.id(), StreamTransition.Type.RESET);
        assertThat(listener.count(s.id(), StreamTransition.Type.POISONED))
                .as("the stream was poisoned once, however many entries were refused")
                .isEqualTo(1);
        assertThat(s.neg(s.upload(new float[] {5}, 1)).download()).containsExactly(-5f);
    }
}
