package org.backplane.metal.kit;

import org.backplane.testkit.IsolationContractTests;
import org.backplane.testkit.BackendFixture;

class MetalIsolationContractTest extends IsolationContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
