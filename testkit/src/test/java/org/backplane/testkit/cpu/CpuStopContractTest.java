package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.StopContractTests;

class CpuStopContractTest extends StopContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
