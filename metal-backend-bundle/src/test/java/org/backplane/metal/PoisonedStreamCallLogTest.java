package org.backplane.metal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ReduceOp;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.junit.jupiter.api.Test;

/**
 * S4 at the native boundary: once a stream is poisoned, no Objective-C message at all reaches the
 * simulator on its behalf (not to its queue, command buffers or encoders, not to the device for a
 * buffer) until it is reset. The simulator logs every message its objects receive.
 */
class PoisonedStreamCallLogTest extends SimulatorTestSupport {
    @Test
    void aPoisonedStreamSendsNoMessageUntilReset() throws Exception {
        ComputeStream s = backend.openStream("poisoned");
        ComputeStream other = backend.openStream("other");
        String label = s.id().toString();
        DeviceArray before = s.upload(new float[] {1, 2, 3, 4}, 2, 2);
        DeviceArray computed = s.neg(before);
        s.synchronize();
        sim.failCommandBuffer(label, 0, 3);
        assertThatThrownBy(() -> s.exp(computed).download()).isInstanceOf(StreamFailedException.class);
        awaitNoPendingHandlers();

        long total = sim.callsTotal();
        long forStream = sim.callsFor(label);
        List<Runnable> attempts = List.of(
                () -> s.upload(new float[] {1}, 1),
                () -> s.full(2f, 8),
                () -> s.neg(before),
                () -> s.binary(BinaryOp.ADD, before, computed),
                () -> s.matmul(before, before),
                () -> s.transpose(before),
                () -> s.reduce(ReduceOp.SUM, before, 1),
                () -> s.softmax(before),
                () -> computed.download(),
                s::flush,
                s::synchronize,
                () -> s.eval(computed));
        for (int round = 0; round < 20; round++) {
            for (Runnable attempt : attempts) {
                assertThatThrownBy(attempt::run).isInstanceOf(StreamPoisonedException.class);
            }
        }
        assertThat(sim.callsTotal())
                .as("messages sent while %s was poisoned; the log ends with:%n%s", label, sim.logTail())
                .isEqualTo(total);
        assertThat(sim.callsFor(label)).isEqualTo(forStream);

        // The log does see work: another stream's, and this one's again after the reset.
        assertThat(other.neg(other.upload(new float[] {5}, 1)).download()).containsExactly(-5f);
        assertThat(sim.callsTotal()).isGreaterThan(total);
        assertThat(sim.callsFor(label)).isEqualTo(forStream);
        backend.reset(s.id());
        assertThat(s.neg(s.upload(new float[] {7}, 1)).download()).containsExactly(-7f);
        assertThat(sim.callsFor(label))
                .as("the new queue carries the stream's label")
                .isGreaterThan(forStream);
    }

    private void awaitNoPendingHandlers() throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sim.pendingHandlers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(sim.pendingHandlers())
                .as("no handler thread will send another message")
                .isZero();
    }
}
