package org.backplane.testkit.cpu;

import org.backplane.testkit.ObservationContractTests;
import org.backplane.testkit.BackendFixture;

class CpuObservationContractTest extends ObservationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
