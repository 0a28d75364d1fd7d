package org.backplane.cuda.kit;

import org.backplane.testkit.NumericConformanceTests;
import org.backplane.testkit.BackendFixture;

class CudaNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
