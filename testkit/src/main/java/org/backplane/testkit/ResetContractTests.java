package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.junit.jupiter.api.Test;

/** S7: reset recovers a failed stream, invalidates its failed generation, and is safe at any time. */
public abstract class ResetContractTests extends ContractTestSupport {

    @Test
    void s7_resetBringsAPoisonedStreamBackWithANewGeneration() throws Exception {
        ComputeStream s = backend.openStream("s7");
        DeviceArray before = s.neg(s.upload(new float[] {1, 2}, 2));
        s.eval(before);
        faults().raise(s.id(), ErrorKind.PAGE_FAULT, 3, "fail");
        assertThatThrownBy(s::synchronize).isInstanceOf(StreamFailedException.class);

        StreamSnapshot after = backend.reset(s.id());

        assertThat(after.state()).isEqualTo(StreamState.ACTIVE);
        assertThat(after.generation()).isEqualTo(2);
        assertThat(after.firstError()).isNull();
        assertThat(after.suppressedErrors()).isZero();
        assertThat(listener.await(s.id(), StreamTransition.Type.RESET).from()).isEqualTo(StreamState.POISONED);
        // Every array of the failed generation is invalid, even one computed before the failure.
        assertThatThrownBy(before::download).isInstanceOf(StaleGenerationException.class);
        DeviceArray fresh = s.add(s.upload(new float[] {1, 2}, 2), s.full(10f, 1));
        assertThat(fresh.download()).containsExactly(11, 12);
        assertThat(fresh.generation()).isEqualTo(2);
    }

    @Test
    void s7_resettingAFailedButUnreportedStreamAlsoRecoversIt() throws Exception {
        ComputeStream s = backend.openStream("s7-unreported");
        faults().raise(s.id(), ErrorKind.TIMEOUT, 2, "not yet reported");
        assertThat(s.snapshot().state()).isEqualTo(StreamState.FAILED);
        backend.reset(s.id());
        assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThat(s.abs(s.upload(new float[] {-3}, 1)).download()).containsExactly(3f);
    }

    @Test
    void s7_resettingAHealthyStreamIsAHarmlessNoOp() throws Exception {
        ComputeStream s = backend.openStream("s7-healthy");
        DeviceArray x = s.neg(s.upload(new float[] {1}, 1));
        s.eval(x);
        StreamSnapshot snap = backend.reset(s.id());
        assertThat(snap.generation()).isEqualTo(1);
        assertThat(snap.state()).isEqualTo(StreamState.ACTIVE);
        assertThat(x.download()).containsExactly(-1f);
        assertThat(listener.count(s.id(), StreamTransition.Type.RESET)).isZero();
    }

    @Test
    void s7_resetAllResetsOnlyTheFailedStreams() throws Exception {
        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            streams.add(backend.openStream("s7-all-" + i));
        }
        faults().raise(streams.get(1).id(), ErrorKind.PAGE_FAULT, 3, "one");
        faults().raise(streams.get(3).id(), ErrorKind.TIMEOUT, 2, "three");
        assertThatThrownBy(streams.get(1)::synchronize).isInstanceOf(StreamFailedException.class);

        assertThat(backend.resetAll()).isEqualTo(2);

        assertThat(streams).allSatisfy(s -> assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE));
        assertThat(streams.stream().map(s -> s.snapshot().generation())).containsExactly(1L, 2L, 1L, 2L);
        assertThat(backend.resetAll()).isZero();
    }

    @Test
    void s7_resetOfAnUnknownStreamIsRejected() {
        assertThatThrownBy(() -> backend.reset(new StreamId(backend.id(), 999_999)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("999999");
        assertThatThrownBy(() -> backend.reset(new StreamId("elsewhere", 1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void s7_resetIsSafeWhileOtherThreadsSubmit() throws Exception {
        ComputeStream s = backend.openStream("s7-busy");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong good = new AtomicLong();
        List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
        List<Thread> submitters = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            float base = t;
            submitters.add(thread("submitter-" + t, () -> {
                while (!stop.get()) {
                    try {
                        DeviceArray x = s.upload(new float[] {base, base + 1}, 2);
                        float[] y = s.add(s.mul(x, x), s.full(1f, 1)).download();
                        if (y[0] != base * base + 1 || y[1] != (base + 1) * (base + 1) + 1) {
                            unexpected.add(new AssertionError("wrong result " + y[0] + ", " + y[1]));
                        }
                        good.incrementAndGet();
                    } catch (StreamErrorException | StaleGenerationException expected) {
                        // the stream failed or was reset under this thread: the contract's answers
                    } catch (Throwable e) {
                        unexpected.add(e);
                    }
                }
            }));
        }
        for (int round = 0; round < 25; round++) {
            faults().raise(s.id(), ErrorKind.PAGE_FAULT, round, "round " + round);
            Thread.sleep(2);
            backend.reset(s.id());
            Thread.sleep(2);
        }
        stop.set(true);
        for (Thread t : submitters) {
            t.join();
        }
        assertThat(unexpected).isEmpty();
        assertThat(good.get()).isPositive();
        assertThat(s.snapshot().generation()).isEqualTo(26);
        assertThat(s.neg(s.upload(new float[] {7}, 1)).download()).containsExactly(-7f);
    }
}
