package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OpFamilyFaultContractTests;

class IsolatedCudaOpFamilyFaultContractTest extends OpFamilyFaultContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
