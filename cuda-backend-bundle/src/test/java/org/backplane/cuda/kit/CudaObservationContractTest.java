package org.backplane.cuda.kit;

import org.backplane.testkit.ObservationContractTests;
import org.backplane.testkit.BackendFixture;

class CudaObservationContractTest extends ObservationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
