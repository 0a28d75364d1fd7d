package org.backplane.metal.kit;

import org.backplane.testkit.StopContractTests;
import org.backplane.testkit.BackendFixture;

class MetalStopContractTest extends StopContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
