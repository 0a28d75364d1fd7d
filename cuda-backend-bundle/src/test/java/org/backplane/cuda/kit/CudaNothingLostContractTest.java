package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NothingLostContractTests;

class CudaNothingLostContractTest extends NothingLostContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
