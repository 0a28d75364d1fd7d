package org.backplane.cuda.kit;

import org.backplane.testkit.StopContractTests;
import org.backplane.testkit.BackendFixture;

class CudaStopContractTest extends StopContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
