package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OutOfMemoryContractTests;

class MetalOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
