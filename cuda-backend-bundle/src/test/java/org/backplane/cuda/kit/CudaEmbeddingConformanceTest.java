package org.backplane.cuda.kit;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.EmbeddingConformanceTests;

class CudaEmbeddingConformanceTest extends EmbeddingConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CudaFixture.INSTANCE;
    }
}
