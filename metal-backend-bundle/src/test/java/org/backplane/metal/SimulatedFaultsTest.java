package org.backplane.metal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.DeviceLostException;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real failures as Metal reports them, made by the simulator: a command buffer's error status with
 * an {@code NSError} of each code the contract maps, an innocent victim, a kernel that does not
 * compile, a buffer allocation that returns nil, handlers that come late and out of order, and a
 * status Metal does not define. Each reaches only its stream, through the completion handler upcall.
 */
class SimulatedFaultsTest extends SimulatorTestSupport {
    private static float[] ramp(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i * 0.5f - 3;
        }
        return x;
    }

    /** x * x + x on a stream, downloaded. */
    private static float[] work(ComputeStream s) {
        DeviceArray x = s.upload(ramp(64), 64);
        return s.add(s.mul(x, x), x).download();
    }

    private static float[] expected() {
        float[] x = ramp(64);
        float[] r = new float[64];
        for (int i = 0; i < 64; i++) {
            r[i] = x[i] * x[i] + x[i];
        }
        return r;
    }

    @ParameterizedTest(name = "NSError code {0} -> {1}")
    @CsvSource({
        "2, TIMEOUT, kIOGPUCommandBufferCallbackErrorTimeout",
        "3, PAGE_FAULT, kIOGPUCommandBufferCallbackErrorPageFault",
        "8, OUT_OF_MEMORY, kIOGPUCommandBufferCallbackErrorOutOfMemory",
        "9, INVALID_ARGUMENT, kIOGPUCommandBufferCallbackErrorInvalidResource"
    })
    void commandBufferErrorReachesOnlyItsStreamWithMetalsCodeAndText(long code, ErrorKind kind, String text) {
        ComputeStream victim = backend.openStream("victim");
        ComputeStream bystander = backend.openStream("bystander");
        sim.failCommandBuffer(victim.id().toString(), 0, code);

        assertThatThrownBy(() -> work(victim)).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            StreamError error = e.error();
            assertThat(error.kind()).isEqualTo(kind);
            assertThat(error.nativeCode()).isEqualTo(code);
            assertThat(error.nativeText()).contains(text);
            assertThat(error.message()).contains("MTLCommandBufferErrorDomain");
        });
        assertThatThrownBy(() -> work(victim)).isInstanceOf(StreamPoisonedException.class);
        assertThat(work(bystander)).containsExactly(expected());
        assertThat(backend.state()).isEqualTo(BackendState.RUNNING);

        backend.reset(victim.id()); // a new command queue: Metal fails everything behind a failed buffer on the old one
        assertThat(work(victim)).containsExactly(expected());
    }

    @Test
    void deviceRemovedPoisonsEveryStreamAndResetSaysWhatRecoveryNeeds() throws Exception {
        ComputeStream origin = backend.openStream("origin");
        ComputeStream other = backend.openStream("other");
        DeviceArray kept = other.upload(ramp(64), 64);
        other.synchronize();
        sim.failCommandBuffer(origin.id().toString(), 0, 11);

        assertThatThrownBy(() -> work(origin)).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.DEVICE_LOST);
            assertThat(e.error().nativeCode()).isEqualTo(11);
        });
        assertThat(backend.state()).isEqualTo(BackendState.DEVICE_LOST);
        assertThatThrownBy(() -> other.neg(kept).download())
                .isInstanceOfSatisfying(
                        StreamFailedException.class,
                        e -> assertThat(e.error().kind()).isEqualTo(ErrorKind.DEVICE_LOST));
        assertThatThrownBy(() -> backend.reset(origin.id()))
                .isInstanceOf(DeviceLostException.class)
                .hasMessageContaining("Restart the Metal backend");
    }

    @Test
    void innocentVictimIsReportedAsSuchAndLosesNothingElse() {
        ComputeStream victim = backend.openStream("discarded");
        ComputeStream bystander = backend.openStream("bystander");
        sim.innocentVictim(victim.id().toString(), 0);

        assertThatThrownBy(() -> work(victim)).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.INNOCENT_VICTIM);
            assertThat(e.error().nativeText()).contains("kIOGPUCommandBufferCallbackErrorInnocentVictim");
        });
        assertThat(work(bystander)).containsExactly(expected());
        assertThat(backend.state()).isEqualTo(BackendState.RUNNING);
        backend.reset(victim.id());
        assertThat(work(victim)).containsExactly(expected());
    }

    @Test
    void kernelCompileErrorCarriesTheCompilersTextAndResetCompilesAgain() {
        ComputeStream s = backend.openStream("compile");
        sim.failNextCompile("use of undeclared identifier 'x2'");

        assertThatThrownBy(() -> s.neg(s.upload(ramp(4), 4)).download())
                .isInstanceOfSatisfying(StreamFailedException.class, e -> {
                    assertThat(e.error().kind()).isEqualTo(ErrorKind.KERNEL_COMPILE);
                    assertThat(e.error().nativeText())
                            .contains("program_source:1:1: error: use of undeclared identifier 'x2'");
                });
        assertThatThrownBy(() -> s.neg(s.upload(ramp(4), 4))).isInstanceOf(StreamPoisonedException.class);
        backend.reset(s.id());
        assertThat(s.neg(s.upload(new float[] {1, -2}, 2)).download()).containsExactly(-1f, 2f);
    }

    @Test
    void nilFromBufferAllocationIsOutOfMemoryOnTheAskingStreamOnly() {
        ComputeStream greedy = backend.openStream("greedy");
        ComputeStream bystander = backend.openStream("bystander");
        DeviceArray x = greedy.upload(ramp(64), 64);
        greedy.synchronize();
        sim.failAllocations(2); // the first try and the one after reclaiming

        assertThatThrownBy(() -> greedy.neg(x)).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
            assertThat(e.error().nativeText()).contains("newBufferWithLength:options: returned nil");
        });
        assertThat(work(bystander)).containsExactly(expected());
        backend.reset(greedy.id());
        assertThat(work(greedy)).containsExactly(expected());
    }

    /**
     * S12 where Metal lags the budget: a closed array's buffer lives on while a command buffer that
     * uses it runs, though the budget already counts it free. A healthy stream's allocation waits for
     * that memory to come back (bounded) rather than fail; CI once saw it fail in the greedy kit.
     */
    @Test
    void anAllocationWaitsForMemoryThatWorkInFlightStillHolds() throws Exception {
        ComputeStream first = backend.openStream("first");
        ComputeStream second = backend.openStream("second");
        sim.holdHandlers(first.id().toString());
        try {
            // Sized from what the simulated device has free now (earlier tests' buffers may linger).
            long free = (512L << 20) - sim.allocatedBytes();
            int part = (int) (free * 0.35 / Float.BYTES);
            DeviceArray a = first.full(1f, part);
            DeviceArray b = first.neg(a); // as much again, both used by a command buffer held in flight
            first.flush();
            a.close();
            b.close(); // free for the budget now; Metal keeps them until the command buffer ends
            CompletableFuture<Void> release = CompletableFuture.runAsync(
                    () -> sim.releaseHandlers(first.id().toString()),
                    CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
            int half = (int) (free * 0.5 / Float.BYTES);
            DeviceArray c = second.full(2f, half); // fits only once the held work ended
            assertThat(second.max(c).download()).containsExactly(2f);
            release.join();
        } finally {
            sim.releaseHandlers(first.id().toString());
        }
    }

    @Test
    void lateHandlersCompleteOutOfOrderAcrossStreamsWithExactResults() throws Exception {
        ComputeStream slow = backend.openStream("slow");
        ComputeStream fast = backend.openStream("fast");
        sim.holdHandlers(slow.id().toString());
        try {
            CompletableFuture<float[]> slowWork = CompletableFuture.supplyAsync(() -> work(slow));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (sim.pendingHandlers() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(sim.pendingHandlers())
                    .as("the slow stream's command buffer is committed first; its handler is held")
                    .isPositive();
            assertThat(work(fast)).containsExactly(expected());
            assertThat(slowWork)
                    .as("the slow stream still waits for its handler")
                    .isNotDone();
            sim.releaseHandlers(slow.id().toString());
            assertThat(slowWork.get(30, TimeUnit.SECONDS)).containsExactly(expected());
        } finally {
            sim.releaseHandlers(slow.id().toString());
        }
    }

    @Test
    void aStatusMetalDoesNotDefineFailsTheBatchInsteadOfEscapingTheHandler() {
        ComputeStream s = backend.openStream("odd-status");
        ComputeStream bystander = backend.openStream("bystander");
        sim.invalidStatus(s.id().toString());

        assertThatThrownBy(() -> work(s)).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.INTERNAL);
            assertThat(e.error().message()).contains("failed while running or completing this work");
            assertThat(e.error().nativeText()).contains("MTLCommandBufferStatus 42");
        });
        assertThat(work(bystander)).containsExactly(expected());
    }
}
