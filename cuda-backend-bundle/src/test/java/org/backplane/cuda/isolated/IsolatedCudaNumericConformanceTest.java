package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.NumericConformanceTests;

/** Every op, run by CUDA in a worker process, against the CPU reference. */
class IsolatedCudaNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
