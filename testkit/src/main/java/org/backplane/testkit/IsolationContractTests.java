package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.api.fault.Hold;
import org.backplane.spi.BatchPolicy;
import org.junit.jupiter.api.Test;

/** S5 (a failure changes nothing on other streams) and S6 (failed work never yields data). */
public abstract class IsolationContractTests extends ContractTestSupport {

    @Test
    void s5_otherStreamsResultsAreBitIdenticalToAFaultFreeRun() throws Exception {
        int streams = 4;
        List<List<float[]>> faultFree = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            ComputeStream s = backend.openStream("clean-" + i);
            faultFree.add(Workloads.mixed(s, 100 + i));
            s.close();
        }
        faults().schedule(FaultRule.atOp("faulty-2", 7, ErrorKind.PAGE_FAULT));
        List<ComputeStream> live = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            live.add(backend.openStream("faulty-" + i));
        }
        List<Throwable> outcomes = new ArrayList<>();
        List<List<float[]>> results = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            int id = i;
            AtomicReference<List<float[]>> result = new AtomicReference<>();
            outcomes.add(outcome(() -> result.set(Workloads.mixed(live.get(id), 100 + id))));
            results.add(result.get());
        }
        assertThat(outcomes.get(2)).isInstanceOf(StreamFailedException.class);
        for (int i = 0; i < streams; i++) {
            if (i == 2) {
                continue;
            }
            assertThat(outcomes.get(i)).as("stream %d", i).isNull();
            for (int k = 0; k < faultFree.get(i).size(); k++) {
                ArrayAssertions.assertBitIdentical(
                        faultFree.get(i).get(k), results.get(i).get(k), "stream " + i + " result " + k);
            }
            assertThat(live.get(i).snapshot().state()).isEqualTo(StreamState.ACTIVE);
            assertThat(listener.count(live.get(i).id(), StreamTransition.Type.FAILED))
                    .isZero();
        }
    }

    @Test
    void s6_outputsOfFailedAndInFlightWorkCanNeverBeRead() throws Exception {
        ComputeStream s = backend.openStream("s6-outputs");
        faults().schedule(FaultRule.atOp("s6-outputs", 3, ErrorKind.PAGE_FAULT));
        DeviceArray x = s.upload(new float[] {1, 2, 3, 4}, 4);
        List<DeviceArray> outputs = new ArrayList<>();
        DeviceArray y = x;
        for (int i = 0; i < 8; i++) {
            y = s.add(y, x);
            outputs.add(y);
        }
        Throwable first = catchThrowable(() -> outputs.get(5).download());
        assertThat(first).isInstanceOf(StreamFailedException.class);
        for (DeviceArray out : outputs) {
            assertThatThrownBy(out::download).isInstanceOf(StreamPoisonedException.class);
            assertThat(out.isReady()).isFalse();
        }
        backend.reset(s.id());
        for (DeviceArray out : outputs) {
            assertThatThrownBy(out::download)
                    .isInstanceOfSatisfying(
                            StaleGenerationException.class,
                            e -> assertThat(e.error()).isNotNull());
        }
    }

    @Test
    void s6_aHealthyCommandBufferAfterAFailedOneNeverReturnsData() throws Exception {
        // One op per command buffer, so the failing op and the healthy ones after it are separate
        // buffers (the MLX bug: eval of a later, healthy buffer returned zeros).
        ExecutionBackend oneOpBuffers = fixture().start(settings().withBatching(new BatchPolicy(1, 1L << 40, 64)));
        try {
            ComputeStream s = oneOpBuffers.openStream("s6-mlx");
            int busyOps = 3;
            FaultInjector faults = FaultInjector.of(oneOpBuffers).orElseThrow();
            faults.schedule(FaultRule.atOp("s6-mlx", busyOps + 1, ErrorKind.PAGE_FAULT));
            DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
            // Held: the failing buffer and the healthy ones after it are all queued before any runs.
            Hold hold = faults.hold(s.id());
            Workloads.busy(s, 5, 256, busyOps);
            s.neg(x); // fails
            List<DeviceArray> later = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                later.add(s.exp(x));
            }
            hold.release();
            assertThatThrownBy(() -> s.eval(later.getLast())).isInstanceOf(StreamFailedException.class);
            for (DeviceArray healthyBuffer : later) {
                assertThatThrownBy(healthyBuffer::download).isInstanceOf(StreamPoisonedException.class);
            }
        } finally {
            fixture().stop(oneOpBuffers);
        }
    }

    @Test
    void s6_workConsumingAFailedArrayOfAnotherStreamFailsWithUpstreamFailure() throws Exception {
        ComputeStream a = backend.openStream("s6-upstream");
        ComputeStream b = backend.openStream("s6-downstream");
        faults().schedule(FaultRule.atOp("s6-upstream", 1, ErrorKind.PAGE_FAULT));
        DeviceArray x = a.upload(new float[] {1, 2, 3}, 3);
        DeviceArray failed = a.exp(x);
        DeviceArray w = b.upload(new float[] {1, 1, 1}, 3);
        DeviceArray z = b.add(failed, w);
        Throwable reported = catchThrowable(z::download);
        assertThat(reported).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.UPSTREAM_FAILURE);
            assertThat(e.error().stream()).isEqualTo(b.id());
            assertThat(e.error().upstream()).isNotNull();
            assertThat(e.error().upstream().stream()).isEqualTo(a.id());
            assertThat(e.error().upstream().kind()).isEqualTo(ErrorKind.PAGE_FAULT);
        });
        assertThatThrownBy(a::synchronize)
                .isInstanceOfSatisfying(
                        StreamFailedException.class,
                        e -> assertThat(e.error().kind()).isEqualTo(ErrorKind.PAGE_FAULT));
    }

    @Test
    void s6_crossStreamInputsAreWaitedForAndUsedWhenHealthy() throws Exception {
        ComputeStream a = backend.openStream("s6-producer");
        ComputeStream b = backend.openStream("s6-consumer");
        List<DeviceArray> chain = Workloads.chain(a, 7, 128, 40);
        DeviceArray produced = chain.getLast();
        DeviceArray consumed = b.mul(produced, b.full(2f, 1));
        float[] viaB = consumed.download();
        float[] viaA = produced.download();
        for (int i = 0; i < viaA.length; i++) {
            assertThat(viaB[i]).isEqualTo(viaA[i] * 2f);
        }
    }

    @Test
    void s6_anArrayOfAResetGenerationIsRejectedAsInputOnTheCallersThread() throws Exception {
        ComputeStream a = backend.openStream("s6-reset-producer");
        ComputeStream b = backend.openStream("s6-reset-consumer");
        DeviceArray old = a.neg(a.upload(new float[] {1}, 1));
        a.eval(old);
        faults().raise(a.id(), ErrorKind.PAGE_FAULT, 3, "fail a");
        backend.reset(a.id());
        assertThatThrownBy(() -> b.add(old, old)).isInstanceOf(StaleGenerationException.class);
        assertThat(b.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        assertThat(b.neg(b.upload(new float[] {2}, 1)).download()).containsExactly(-2f);
    }
}
