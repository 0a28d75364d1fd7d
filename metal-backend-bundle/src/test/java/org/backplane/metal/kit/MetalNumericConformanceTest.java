package org.backplane.metal.kit;

import org.backplane.testkit.NumericConformanceTests;
import org.backplane.testkit.BackendFixture;

class MetalNumericConformanceTest extends NumericConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
