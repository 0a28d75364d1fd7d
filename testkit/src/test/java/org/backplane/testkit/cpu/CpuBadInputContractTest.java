package org.backplane.testkit.cpu;

import org.backplane.testkit.BadInputContractTests;
import org.backplane.testkit.BackendFixture;

class CpuBadInputContractTest extends BadInputContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
