package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.MemoryContractTests;

class CudaMemoryContractTest extends MemoryContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
