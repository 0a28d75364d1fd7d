package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.ResetContractTests;

class IsolatedCpuResetContractTest extends ResetContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
