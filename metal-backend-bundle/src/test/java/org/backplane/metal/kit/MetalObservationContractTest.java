package org.backplane.metal.kit;

import org.backplane.testkit.ObservationContractTests;
import org.backplane.testkit.BackendFixture;

class MetalObservationContractTest extends ObservationContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
