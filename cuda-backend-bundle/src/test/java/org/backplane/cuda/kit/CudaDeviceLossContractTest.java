package org.backplane.cuda.kit;

import org.backplane.testkit.DeviceLossContractTests;
import org.backplane.testkit.BackendFixture;

class CudaDeviceLossContractTest extends DeviceLossContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
