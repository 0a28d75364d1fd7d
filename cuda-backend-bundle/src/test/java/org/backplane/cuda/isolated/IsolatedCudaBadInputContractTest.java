package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.BadInputContractTests;

class IsolatedCudaBadInputContractTest extends BadInputContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
