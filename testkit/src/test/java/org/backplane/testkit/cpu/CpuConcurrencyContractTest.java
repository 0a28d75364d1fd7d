package org.backplane.testkit.cpu;

import org.backplane.testkit.ConcurrencyContractTests;
import org.backplane.testkit.BackendFixture;

class CpuConcurrencyContractTest extends ConcurrencyContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
