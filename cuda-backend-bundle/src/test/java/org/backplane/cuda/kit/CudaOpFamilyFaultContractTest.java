package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OpFamilyFaultContractTests;

class CudaOpFamilyFaultContractTest extends OpFamilyFaultContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
