package org.backplane.cpu.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * S11: when the engine's shutdown returns, its compute threads are gone — not merely told to end.
 * A pool can report itself terminated while its last thread is still returning from its run loop;
 * hosts (and BackendStopIT) check for leftover threads right after a stop.
 */
class CpuBackendEngineStopTest {
    @Test
    void noComputeThreadIsAliveWhenShutdownReturns() throws Exception {
        for (int round = 0; round < 300; round++) {
            CpuBackendEngine engine = new CpuBackendEngine(4, "scalar", 1 << 20);
            Set<Thread> used = ConcurrentHashMap.newKeySet();
            CountDownLatch ran = new CountDownLatch(3);
            for (int i = 0; i < 3; i++) {
                engine.pool().execute(() -> {
                    used.add(Thread.currentThread());
                    ran.countDown();
                });
            }
            assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
            engine.shutdown(Duration.ZERO);
            assertThat(used).as("round %d", round).hasSize(3).noneMatch(Thread::isAlive);
        }
    }
}
