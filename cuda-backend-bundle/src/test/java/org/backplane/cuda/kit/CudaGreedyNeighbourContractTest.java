package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.GreedyNeighbourContractTests;

class CudaGreedyNeighbourContractTest extends GreedyNeighbourContractTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
