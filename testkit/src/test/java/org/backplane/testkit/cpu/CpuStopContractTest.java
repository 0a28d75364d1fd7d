package org.backplane.testkit.cpu;

import org.backplane.testkit.StopContractTests;
import org.backplane.testkit.BackendFixture;

class CpuStopContractTest extends StopContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
