package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NothingLostContractTests;

class CpuNothingLostContractTest extends NothingLostContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
