package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.EmbeddingConformanceTests;

/**
 * The real workload on the Metal backend, on the simulator running the real MSL: a sample of the
 * corpus (every 60th sentence, long ones included) and a smaller fault scenario, since the simulator
 * runs each GPU thread of the tiled matmul as a CPU fiber (a batch takes seconds). The whole corpus
 * runs on the CPU backend in every build and on CUDA in the GPU run.
 */
class MetalEmbeddingConformanceTest extends EmbeddingConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return MetalFixture.INSTANCE;
    }

    @Override
    protected int corpusStride() {
        return 60;
    }

    @Override
    protected int sentencesPerWorker() {
        return 2;
    }

    @Override
    protected boolean runsDemo() {
        return false;
    }
}
