package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.MemoryContractTests;

class CpuMemoryContractTest extends MemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
