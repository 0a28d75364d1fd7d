package org.backplane.cpu.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.cpu.CpuBackend;
import org.backplane.spi.ManagedBackend;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend from plain Java with the isolation bundle off the class path (the surefire
 * execution {@code without-isolation} leaves it out): it runs in process, and asking for a worker
 * process says what is missing.
 */
class WithoutIsolationTest {
    @Test
    void theIsolationBundleIsNotOnTheClassPath() {
        assertThatThrownBy(() -> Class.forName("org.backplane.isolation.IsolationSettings"))
                .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void theBackendRunsInProcess() {
        try (CpuBackend cpu = CpuBackend.start();
                ComputeStream s = cpu.openStream("without-isolation")) {
            assertThat(s.matmul(s.full(2f, 3, 4), s.full(0.5f, 4, 2)).download())
                    .containsOnly(4f);
        }
    }

    @Test
    void theComponentRunsInProcessAndSaysWhatAWorkerProcessNeeds() {
        ManagedBackend b = CpuBackendComponent.start(CpuBackendComponentTest.config(Map.of()), Map.of());
        try (ComputeStream s = b.openStream("component")) {
            assertThat(s.add(s.full(1f, 2), s.full(2f, 2)).download()).containsOnly(3f);
        } finally {
            b.stop();
        }
        ManagedBackend none = CpuBackendComponent.start(
                CpuBackendComponentTest.config(Map.of()),
                Map.of("isolation", " NONE ")); // read as the isolation bundle reads it
        none.stop();
        assertThatThrownBy(() -> CpuBackendComponent.start(
                        CpuBackendComponentTest.config(Map.of()), Map.of("isolation", "process")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("org.backplane.isolation bundle");
    }
}
