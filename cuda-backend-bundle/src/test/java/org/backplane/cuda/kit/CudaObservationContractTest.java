package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.ObservationContractTests;

class CudaObservationContractTest extends ObservationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
