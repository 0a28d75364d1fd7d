package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.CaptureContractTests;

class CudaCaptureContractTest extends CaptureContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
