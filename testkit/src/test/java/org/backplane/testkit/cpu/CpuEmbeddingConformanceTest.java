package org.backplane.testkit.cpu;

import org.backplane.testkit.BackendFixture;
import org.backplane.testkit.EmbeddingConformanceTests;

class CpuEmbeddingConformanceTest extends EmbeddingConformanceTests {
    @Override
    protected BackendFixture fixture() {
        return CpuFixture.FAST;
    }
}
