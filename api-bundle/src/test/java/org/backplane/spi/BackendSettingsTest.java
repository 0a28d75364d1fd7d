package org.backplane.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.backplane.api.ErrorKind;
import org.backplane.api.fault.FaultRule;
import org.junit.jupiter.api.Test;

class BackendSettingsTest {
    @Test
    void anEmptyConfigurationGivesTheDefaults() {
        assertThat(BackendSettings.fromConfiguration(Map.of())).isEqualTo(BackendSettings.DEFAULT);
    }

    @Test
    void valuesAreReadAsNumbersBooleansOrTheirText() {
        BackendSettings s = BackendSettings.fromConfiguration(Map.of(
                BackendSettings.BATCH_MAX_OPS,
                "16",
                BackendSettings.BATCH_MAX_BYTES,
                1024L,
                BackendSettings.BATCH_MAX_IN_FLIGHT,
                2,
                BackendSettings.RESET_TIMEOUT_MS,
                100,
                BackendSettings.CLOSE_TIMEOUT_MS,
                "200",
                BackendSettings.STOP_GRACE_MS,
                300L,
                BackendSettings.FAULT_INJECTION_ENABLED,
                "true",
                BackendSettings.FAULT_INJECTION_RULES,
                new String[] {"stream=a*, op=3, kind=TIMEOUT", " "}));
        assertThat(s.batching()).isEqualTo(new BatchPolicy(16, 1024, 2));
        assertThat(List.of(s.resetTimeout(), s.closeTimeout(), s.stopGrace()))
                .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(300));
        assertThat(s.faultInjection()).isTrue();
        assertThat(s.faultRules()).containsExactly(FaultRule.atOp("a*", 3, ErrorKind.TIMEOUT));
    }

    @Test
    void faultRulesNeedFaultInjectionEnabled() {
        assertThatThrownBy(() -> BackendSettings.fromConfiguration(
                        Map.of(BackendSettings.FAULT_INJECTION_RULES, "stream=a*, op=3, kind=TIMEOUT")))
                .hasMessageContaining("faultInjection.enabled=true");
    }

    @Test
    void badValuesAreRejectedNamingTheProperty() {
        assertThatThrownBy(() -> BackendSettings.fromConfiguration(Map.of(BackendSettings.BATCH_MAX_OPS, 0)))
                .hasMessageContaining("maxOps");
        assertThatThrownBy(() -> BackendSettings.fromConfiguration(Map.of(BackendSettings.RESET_TIMEOUT_MS, "soon")))
                .hasMessageContaining("reset.timeout.ms")
                .hasMessageContaining("'soon'");
    }
}
