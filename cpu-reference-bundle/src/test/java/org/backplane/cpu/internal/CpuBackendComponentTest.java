package org.backplane.cpu.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.Map;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.junit.jupiter.api.Test;

class CpuBackendComponentTest {
    /** A configuration as DS would pass it: the given values, defaults for the rest. */
    static CpuBackendComponent.Config config(Map<String, Object> values) {
        return (CpuBackendComponent.Config) Proxy.newProxyInstance(
                CpuBackendComponent.Config.class.getClassLoader(),
                new Class<?>[] {CpuBackendComponent.Config.class},
                (proxy, method, args) ->
                        values.containsKey(method.getName()) ? values.get(method.getName()) : method.getDefaultValue());
    }

    @Test
    void theComponentStartsABackendWithTheSharedSettingsReadFromItsProperties() {
        ManagedBackend b = CpuBackendComponent.start(
                config(Map.of("kernels", "scalar")),
                Map.of(BackendSettings.BATCH_MAX_OPS, 7, BackendSettings.FAULT_INJECTION_ENABLED, true));
        try {
            assertThat(b.capabilities().kernels()).isEqualTo("scalar");
            assertThat(b.settings().batching().maxOps()).isEqualTo(7);
            assertThat(b.capabilities().faultInjection()).isTrue();
        } finally {
            b.stop();
        }
    }

    @Test
    void badValuesAreRejectedWithTheReason() {
        assertThatThrownBy(() -> CpuBackendComponent.start(config(Map.of("kernels", "turbo")), Map.of()))
                .hasMessageContaining("'turbo'");
        assertThatThrownBy(() -> CpuBackendComponent.start(config(Map.of("parallelism", -1)), Map.of()))
                .hasMessageContaining("parallelism");
    }
}
