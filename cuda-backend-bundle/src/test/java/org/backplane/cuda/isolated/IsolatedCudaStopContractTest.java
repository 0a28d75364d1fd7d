package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.StopContractTests;

class IsolatedCudaStopContractTest extends StopContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
