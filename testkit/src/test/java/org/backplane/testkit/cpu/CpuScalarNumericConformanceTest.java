package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NumericConformanceTests;

/** The fast kernels without the Vector API, as they run on runtimes that lack it. */
class CpuScalarNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.SCALAR;
    }
}
