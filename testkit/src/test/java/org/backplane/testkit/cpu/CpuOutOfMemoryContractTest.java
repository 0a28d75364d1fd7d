package org.backplane.testkit.cpu;

import org.backplane.testkit.OutOfMemoryContractTests;
import org.backplane.testkit.BackendFixture;

class CpuOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
