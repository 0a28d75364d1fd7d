package org.backplane.metal.kit;

import org.backplane.testkit.BadInputContractTests;
import org.backplane.testkit.BackendFixture;

class MetalBadInputContractTest extends BadInputContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
