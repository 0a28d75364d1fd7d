package org.backplane.cuda.kit;

import org.backplane.testkit.VerificationContractTests;
import org.backplane.testkit.BackendFixture;

class CudaVerificationContractTest extends VerificationContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
