package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OpFamilyFaultContractTests;

class MetalOpFamilyFaultContractTest extends OpFamilyFaultContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
