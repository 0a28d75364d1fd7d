package org.backplane.metal.kit;

import org.backplane.testkit.VerificationContractTests;
import org.backplane.testkit.BackendFixture;

class MetalVerificationContractTest extends VerificationContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }
}
