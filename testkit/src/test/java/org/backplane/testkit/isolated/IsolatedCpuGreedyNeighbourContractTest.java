package org.backplane.testkit.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.GreedyNeighbourContractTests;

class IsolatedCpuGreedyNeighbourContractTest extends GreedyNeighbourContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCpuFixture.INSTANCE;
    }
}
