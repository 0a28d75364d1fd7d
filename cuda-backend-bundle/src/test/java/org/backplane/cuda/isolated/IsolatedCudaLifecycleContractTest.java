package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LifecycleContractTests;

class IsolatedCudaLifecycleContractTest extends LifecycleContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
