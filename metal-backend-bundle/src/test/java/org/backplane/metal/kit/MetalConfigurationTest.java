package org.backplane.metal.kit;

import org.backplane.metal.internal.MetalBackendComponent;
import org.backplane.testkit.SharedSettingsDeclaration;
import org.junit.jupiter.api.Test;

class MetalConfigurationTest {
    @Test
    void theMetalBackendDeclaresEverySharedSettingWithItsDefault() {
        SharedSettingsDeclaration.assertDeclaredBy(MetalBackendComponent.Config.class);
    }
}
