package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OpFamilyFaultContractTests;

class CpuOpFamilyFaultContractTest extends OpFamilyFaultContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
