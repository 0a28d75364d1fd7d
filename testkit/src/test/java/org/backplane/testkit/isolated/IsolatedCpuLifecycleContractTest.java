package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LifecycleContractTests;

class IsolatedCpuLifecycleContractTest extends LifecycleContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
