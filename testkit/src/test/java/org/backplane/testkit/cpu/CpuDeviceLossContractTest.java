package org.backplane.testkit.cpu;

import org.backplane.testkit.DeviceLossContractTests;
import org.backplane.testkit.BackendFixture;

class CpuDeviceLossContractTest extends DeviceLossContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
