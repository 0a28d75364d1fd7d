package org.backplane.testkit.cpu;

import org.backplane.testkit.IsolationContractTests;
import org.backplane.testkit.BackendFixture;

class CpuIsolationContractTest extends IsolationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
