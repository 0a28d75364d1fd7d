package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NumericConformanceTests;

class CpuNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
