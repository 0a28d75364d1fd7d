package org.backplane.isolation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IsolationSettingsTest {
    @Test
    void absentPropertiesTakeTheDefaultsAndNoneIsInTheHost() {
        IsolationSettings s = IsolationSettings.fromConfiguration(Map.of());
        assertThat(s).isEqualTo(IsolationSettings.NONE_DEFAULT);
        assertThat(s.process()).isFalse();
    }

    @Test
    void configuredValuesAreRead() {
        IsolationSettings s = IsolationSettings.fromConfiguration(Map.of(
                "isolation",
                "Process",
                "isolation.heartbeat.ms",
                250L,
                "isolation.heartbeatTimeout.ms",
                "4000",
                "isolation.restarts.max",
                3,
                "isolation.restarts.windowMinutes",
                2,
                "isolation.restarts.backoff.ms",
                0,
                "isolation.jvmOptions",
                new String[] {"-Xmx2g", " "}));
        assertThat(s.process()).isTrue();
        assertThat(s.heartbeat()).isEqualTo(Duration.ofMillis(250));
        assertThat(s.heartbeatTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(s.restartLimit()).isEqualTo(3);
        assertThat(s.restartWindow()).isEqualTo(Duration.ofMinutes(2));
        assertThat(s.restartBackoff()).isZero();
        assertThat(s.jvmOptions()).containsExactly("-Xmx2g");
    }

    @Test
    void nonsenseIsRefusedNamingTheProperty() {
        assertThatThrownBy(() -> IsolationSettings.fromConfiguration(Map.of("isolation", "thread")))
                .hasMessageContaining("'none' or 'process'");
        assertThatThrownBy(() -> IsolationSettings.fromConfiguration(Map.of("isolation.heartbeat.ms", "soon")))
                .hasMessageContaining("isolation.heartbeat.ms");
        assertThatThrownBy(() -> IsolationSettings.fromConfiguration(
                        Map.of("isolation.heartbeat.ms", 1000, "isolation.heartbeatTimeout.ms", 1500)))
                .hasMessageContaining("at least twice");
        assertThatThrownBy(() -> IsolationSettings.fromConfiguration(Map.of("isolation.restarts.max", -1)))
                .hasMessageContaining("isolation.restarts.max");
    }
}
