package org.backplane.cuda.kit;

import org.backplane.testkit.OutOfMemoryContractTests;
import org.backplane.testkit.BackendFixture;

class CudaOutOfMemoryContractTest extends OutOfMemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
