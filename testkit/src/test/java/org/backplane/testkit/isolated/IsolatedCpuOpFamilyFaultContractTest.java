package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OpFamilyFaultContractTests;

class IsolatedCpuOpFamilyFaultContractTest extends OpFamilyFaultContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
