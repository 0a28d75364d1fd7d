package org.backplane.metal.kit;

import org.backplane.testkit.ResetContractTests;
import org.backplane.testkit.BackendFixture;

class MetalResetContractTest extends ResetContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
