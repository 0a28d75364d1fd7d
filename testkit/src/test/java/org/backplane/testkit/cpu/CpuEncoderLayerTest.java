package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.EncoderLayerTests;

class CpuEncoderLayerTest extends EncoderLayerTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
