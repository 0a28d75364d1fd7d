package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.LifecycleContractTests;

class MetalLifecycleContractTest extends LifecycleContractTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }

    /** The simulator runs kernels on the CPU one thread per threadgroup: a smaller product races as well. */
    @Override
    protected int closeRaceSize() {
        return 192;
    }
}
