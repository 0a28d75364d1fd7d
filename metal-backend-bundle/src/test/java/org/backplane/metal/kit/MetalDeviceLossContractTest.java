package org.backplane.metal.kit;

import org.backplane.testkit.DeviceLossContractTests;
import org.backplane.testkit.BackendFixture;

class MetalDeviceLossContractTest extends DeviceLossContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
