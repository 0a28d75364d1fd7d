package org.backplane.cuda.kit;

import org.backplane.cuda.internal.CudaBackendComponent;
import org.backplane.testkit.SharedSettingsDeclaration;
import org.junit.jupiter.api.Test;

class CudaConfigurationTest {
    @Test
    void theCudaBackendDeclaresEverySharedSettingWithItsDefault() {
        SharedSettingsDeclaration.assertDeclaredBy(CudaBackendComponent.Config.class);
    }
}
