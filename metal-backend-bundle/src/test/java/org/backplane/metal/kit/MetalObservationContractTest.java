package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.ObservationContractTests;

class MetalObservationContractTest extends ObservationContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
