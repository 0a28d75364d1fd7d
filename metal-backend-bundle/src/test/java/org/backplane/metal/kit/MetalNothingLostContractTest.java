package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NothingLostContractTests;

class MetalNothingLostContractTest extends NothingLostContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
