package org.backplane.cuda.kit;

import org.backplane.testkit.CaptureContractTests;
import org.backplane.testkit.BackendFixture;

class CudaCaptureContractTest extends CaptureContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
