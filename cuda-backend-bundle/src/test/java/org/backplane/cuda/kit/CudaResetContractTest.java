package org.backplane.cuda.kit;

import org.backplane.testkit.ResetContractTests;
import org.backplane.testkit.BackendFixture;

class CudaResetContractTest extends ResetContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
