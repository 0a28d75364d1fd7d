package org.backplane.cuda.isolated;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.GreedyNeighbourContractTests;

class IsolatedCudaGreedyNeighbourContractTest extends GreedyNeighbourContractTests {
    @Override
    protected BackendFixture fixture() {
        return IsolatedCudaFixture.INSTANCE;
    }
}
