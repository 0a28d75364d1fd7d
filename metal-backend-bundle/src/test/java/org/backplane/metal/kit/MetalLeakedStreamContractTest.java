package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LeakedStreamContractTests;

class MetalLeakedStreamContractTest extends LeakedStreamContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
