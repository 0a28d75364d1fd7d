package org.backplane.testkit.cpu;

import org.backplane.testkit.NumericConformanceTests;
import org.backplane.testkit.BackendFixture;

class CpuNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
