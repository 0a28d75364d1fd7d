package org.backplane.testkit.cpu;

import org.backplane.cpu.internal.CpuBackendComponent;
import org.backplane.testkit.SharedSettingsDeclaration;
import org.junit.jupiter.api.Test;

class CpuConfigurationTest {
    @Test
    void theCpuBackendDeclaresEverySharedSettingWithItsDefault() {
        SharedSettingsDeclaration.assertDeclaredBy(CpuBackendComponent.Config.class);
    }
}
