package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.GreedyNeighbourContractTests;

class CpuGreedyNeighbourContractTest extends GreedyNeighbourContractTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
