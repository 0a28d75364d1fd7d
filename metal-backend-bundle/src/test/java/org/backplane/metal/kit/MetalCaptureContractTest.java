package org.backplane.metal.kit;

import org.backplane.testkit.CaptureContractTests;
import org.backplane.testkit.BackendFixture;

class MetalCaptureContractTest extends CaptureContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
