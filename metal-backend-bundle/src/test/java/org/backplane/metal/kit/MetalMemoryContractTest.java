package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.MemoryContractTests;

class MetalMemoryContractTest extends MemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
