package org.backplane.metal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamClosedException;
import org.backplane.metal.kit.MetalFixture;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * S11 with Metal's handlers still to come: the bundle is stopped while every stream's command
 * buffers wait for late completion handlers, once with a grace period long enough for them and
 * once with one far shorter (the handlers then arrive after the stop returned, into an upcall
 * stub that must still exist). Neither crashes the JVM; every waiter is released.
 */
@Tag("simulator")
class PendingHandlersStopTest {

    @ParameterizedTest(name = "handlers {0} ms late, grace 300 ms")
    @ValueSource(longs = {100, 1500})
    void stoppingWithHandlersPendingNeverCrashes(long handlerDelay) throws Exception {
        assumeTrue(Simulator.active(), "needs the Metal simulator (Linux)");
        Simulator.get().awaitQuiet(); // handlers of earlier tests' work would count as this test's
        BackendSettings settings = BackendSettings.DEFAULT.withTimeouts(
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMillis(300));
        MetalBackend backend = (MetalBackend) MetalFixture.INSTANCE.start(settings);
        Simulator sim = Simulator.get();
        sim.delayHandlers("*", handlerDelay);
        ConcurrentLinkedQueue<Object> outcomes = new ConcurrentLinkedQueue<>();
        List<Thread> readers = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                ComputeStream s = backend.openStream("pending-" + i);
                DeviceArray x = s.upload(new float[] {i, i + 1}, 2);
                DeviceArray y = s.exp(s.neg(x));
                s.flush(); // committed; the handler comes late
                readers.add(Thread.ofPlatform().start(() -> {
                    try {
                        outcomes.add(y.download());
                    } catch (RuntimeException e) {
                        outcomes.add(e);
                    }
                }));
            }
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (sim.pendingHandlers() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1); // the commits reach the simulator's queue asynchronously
            }
            assertThat(sim.pendingHandlers()).as("handlers pending at stop").isPositive();
        } finally {
            backend.close();
        }
        for (Thread t : readers) {
            t.join(10_000);
            assertThat(t.isAlive()).as("a reader left waiting").isFalse();
        }
        assertThat(outcomes).hasSize(4).allSatisfy(o -> {
            if (o instanceof Throwable t) {
                assertThat(t)
                        .isInstanceOfSatisfying(
                                StreamClosedException.class,
                                e -> assertThat(e.error().kind()).isEqualTo(ErrorKind.BACKEND_STOPPED));
            } else {
                assertThat(o).isInstanceOf(float[].class);
            }
        });
        if (handlerDelay > 300) {
            assertThat(outcomes)
                    .as("work still running at the end of the grace fails with BACKEND_STOPPED")
                    .anySatisfy(o -> assertThat(o).isInstanceOf(StreamClosedException.class));
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (sim.pendingHandlers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the late handlers run now, after the stop, in this live JVM
        }
        assertThat(sim.pendingHandlers()).isZero();
        sim.reset();
    }
}
