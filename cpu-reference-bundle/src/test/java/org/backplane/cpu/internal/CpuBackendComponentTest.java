package org.backplane.cpu.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.Map;
import org.backplane.api.ErrorKind;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuSettings;
import org.junit.jupiter.api.Test;

class CpuBackendComponentTest {
    /** A configuration as DS would pass it: the given values, defaults for the rest. */
    static CpuBackendComponent.Config config(Map<String, Object> values) {
        return (CpuBackendComponent.Config) Proxy.newProxyInstance(CpuBackendComponent.Config.class.getClassLoader(),
                new Class<?>[] {CpuBackendComponent.Config.class},
                (proxy, method, args) -> values.containsKey(method.getName()) ? values.get(method.getName()) : method.getDefaultValue());
    }

    @Test
    void defaultsGiveTheDefaultSettings() {
        CpuSettings s = CpuBackendComponent.settings(config(Map.of()));
        assertThat(s.kernels()).isEqualTo("fast");
        assertThat(s.parallelism()).isZero();
        assertThat(s.common().batching().maxOps()).isEqualTo(32);
        assertThat(s.common().faultInjection()).isFalse();
    }

    @Test
    void faultRulesAreParsedAndNeedFaultInjectionEnabled() {
        CpuSettings s = CpuBackendComponent.settings(config(Map.of("faultInjection_enabled", true,
                "faultInjection_rules", new String[] {"stream=a*, op=3, kind=TIMEOUT", " "})));
        assertThat(s.common().faultRules()).containsExactly(FaultRule.atOp("a*", 3, ErrorKind.TIMEOUT));
        assertThatThrownBy(() -> CpuBackendComponent.settings(config(Map.of("faultInjection_rules",
                new String[] {"stream=a*, op=3, kind=TIMEOUT"})))).hasMessageContaining("faultInjection.enabled=true");
    }

    @Test
    void badValuesAreRejectedWithTheReason() {
        assertThatThrownBy(() -> CpuBackendComponent.settings(config(Map.of("kernels", "turbo")))).hasMessageContaining("'turbo'");
        assertThatThrownBy(() -> CpuBackendComponent.settings(config(Map.of("batch_maxOps", 0)))).hasMessageContaining("maxOps");
        assertThatThrownBy(() -> CpuBackendComponent.settings(config(Map.of("parallelism", -1)))).hasMessageContaining("parallelism");
    }
}
