package org.backplane.testkit.cpu;

import org.backplane.testkit.CaptureContractTests;
import org.backplane.testkit.BackendFixture;

class CpuCaptureContractTest extends CaptureContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
