package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.api.fault.FaultRule;
import org.junit.jupiter.api.Test;

/** S9: losing the device poisons every stream on it; reset recovers or says what recovery needs. */
public abstract class DeviceLossContractTests extends ContractTestSupport {

    @Test
    void s9_deviceLossPoisonsEveryStreamOnTheDevice() throws Exception {
        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            streams.add(backend.openStream("s9-" + i));
        }
        ComputeStream origin = streams.get(1);
        faults().schedule(FaultRule.atOp("s9-1", 1, ErrorKind.DEVICE_LOST).withNativeCode(700));
        origin.exp(origin.upload(new float[] {1}, 1));
        origin.flush();
        for (ComputeStream s : streams) {
            listener.await(s.id(), StreamTransition.Type.DEVICE_LOST);
        }
        assertThat(backend.state()).isEqualTo(BackendState.DEVICE_LOST);
        StreamError cause = origin.snapshot().firstError();
        assertThat(cause.kind()).isEqualTo(ErrorKind.DEVICE_LOST);
        assertThat(cause.nativeCode()).isEqualTo(700);
        for (ComputeStream s : streams) {
            assertThat(s.snapshot().state()).isIn(StreamState.FAILED, StreamState.POISONED);
            assertThatThrownBy(s::synchronize).isInstanceOfSatisfying(StreamFailedException.class, e -> {
                assertThat(e.error().kind()).isEqualTo(ErrorKind.DEVICE_LOST);
                if (s != origin) {
                    assertThat(e.error().upstream()).isEqualTo(cause);
                }
            });
        }
    }

    @Test
    void s9_resetAfterDeviceLossRecoversOrSaysWhatRecoveryNeeds() throws Exception {
        ComputeStream s = backend.openStream("s9-reset");
        faults().schedule(FaultRule.atOp("s9-reset", 1, ErrorKind.DEVICE_LOST));
        s.exp(s.upload(new float[] {1}, 1));
        s.flush();
        listener.await(s.id(), StreamTransition.Type.DEVICE_LOST);
        if (fixture().recoversFromDeviceLoss()) {
            backend.reset(s.id());
            assertThat(backend.state()).isEqualTo(BackendState.RUNNING);
            assertThat(s.neg(s.upload(new float[] {2}, 1)).download()).containsExactly(-2f);
        } else {
            assertThatThrownBy(() -> backend.reset(s.id()))
                    .isInstanceOf(DeviceLostException.class)
                    .hasMessageContaining("cannot be recovered in this process");
            assertThat(backend.state()).isEqualTo(BackendState.DEVICE_LOST);
        }
    }
}
