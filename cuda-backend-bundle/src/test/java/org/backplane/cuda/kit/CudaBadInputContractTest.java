package org.backplane.cuda.kit;

import org.backplane.testkit.BadInputContractTests;
import org.backplane.testkit.BackendFixture;

class CudaBadInputContractTest extends BadInputContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
