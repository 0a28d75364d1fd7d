package org.backplane.cuda.kit;

import org.backplane.testkit.IsolationContractTests;
import org.backplane.testkit.BackendFixture;

class CudaIsolationContractTest extends IsolationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
