package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.OutOfMemoryContractTests;

class IsolatedCpuOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
