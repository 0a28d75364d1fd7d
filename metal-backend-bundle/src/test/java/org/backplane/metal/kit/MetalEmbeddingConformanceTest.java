package org.backplane.metal.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.EmbeddingConformanceTests;

/**
 * The real workload on the Metal backend, on the simulator running the real MSL: a sample of the
 * corpus (every 60th sentence, long ones included), a smaller fault scenario and a smaller quota
 * scenario, since the simulator runs each GPU thread of the tiled matmul as a CPU fiber (a batch takes
 * seconds); the demo, the product's main job, is too long here and runs on the CPU and CUDA. The whole corpus
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

    /** One short text per call, and four 256-token texts against a 4 MiB quota: refused early. */
    @Override
    protected QuotaScenario quotaScenario() {
        return new QuotaScenario(1, 4, 4);
    }
}
