package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LeakedStreamContractTests;

class CpuLeakedStreamContractTest extends LeakedStreamContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
