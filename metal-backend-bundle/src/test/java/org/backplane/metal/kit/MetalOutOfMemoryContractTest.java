package org.backplane.metal.kit;

import org.backplane.testkit.OutOfMemoryContractTests;
import org.backplane.testkit.BackendFixture;

class MetalOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
