package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NumericConformanceTests;

/** Every op crosses the process boundary and computes the same numbers as in the host. */
class IsolatedCpuNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
