package org.backplane.testkit.cpu;

import org.backplane.testkit.ResetContractTests;
import org.backplane.testkit.BackendFixture;

class CpuResetContractTest extends ResetContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
