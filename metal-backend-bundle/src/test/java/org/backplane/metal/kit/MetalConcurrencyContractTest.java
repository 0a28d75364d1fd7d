package org.backplane.metal.kit;

import org.backplane.testkit.ConcurrencyContractTests;
import org.backplane.testkit.BackendFixture;

class MetalConcurrencyContractTest extends ConcurrencyContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
