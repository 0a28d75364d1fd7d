package org.backplane.cuda.kit;

import org.backplane.testkit.ConcurrencyContractTests;
import org.backplane.testkit.BackendFixture;

class CudaConcurrencyContractTest extends ConcurrencyContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
