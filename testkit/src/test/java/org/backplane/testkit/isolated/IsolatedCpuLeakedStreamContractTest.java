package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LeakedStreamContractTests;

class IsolatedCpuLeakedStreamContractTest extends LeakedStreamContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
