package org.backplane.runtime.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class DemoTest {
    @Test
    void theDemoShowsIsolationReportRefusalAndRecovery() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpuBackend cpu = CpuBackend.start(
                        CpuSettings.defaults().withCommon(BackendSettings.DEFAULT.withFaultInjection(List.of())));
                PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            assertThat(new Demo(cpu, out).run()).isTrue();
            assertThat(cpu.faultInjector().orElseThrow().rules())
                    .as("the demo removes its fault rule")
                    .isEmpty();
            assertThat(cpu.streams()).as("the demo closes its streams").isEmpty();
        }
        String report = bytes.toString(StandardCharsets.UTF_8);
        assertThat(report)
                .contains(
                        "demo-0: result bit-identical",
                        "demo-1: result bit-identical",
                        "demo-3: result bit-identical",
                        "demo-2: failed, reported once: PAGE_FAULT",
                        "StreamPoisonedException naming the same error",
                        "reset: state ACTIVE, generation 2",
                        "demo-2 recomputed: bit-identical",
                        "Demo passed");
    }

    @Test
    void theDemoNeedsFaultInjection() {
        try (CpuBackend cpu = CpuBackend.start()) {
            assertThatThrownBy(() -> new Demo(cpu, System.out)).hasMessageContaining("fault injection");
        }
    }
}
