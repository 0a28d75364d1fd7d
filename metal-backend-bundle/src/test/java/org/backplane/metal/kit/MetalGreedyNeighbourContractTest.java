package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.GreedyNeighbourContractTests;

class MetalGreedyNeighbourContractTest extends GreedyNeighbourContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }

    /** The simulator's buffers are the build machine's memory: a limit of its own, not the device it pretends to be. */
    @Override
    protected long limitMiB() {
        return 512;
    }

    /** The simulator computes on the CPU one thread per threadgroup: smaller arrays. */
    @Override
    protected int side() {
        return 256;
    }

    @Override
    protected long reserveMiB() {
        return 1;
    }
}
