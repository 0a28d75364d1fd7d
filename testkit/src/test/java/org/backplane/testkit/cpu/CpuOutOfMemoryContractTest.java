package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OutOfMemoryContractTests;

class CpuOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
