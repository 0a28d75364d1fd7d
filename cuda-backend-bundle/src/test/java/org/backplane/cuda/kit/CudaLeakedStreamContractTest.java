package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LeakedStreamContractTests;

class CudaLeakedStreamContractTest extends LeakedStreamContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
