package org.backplane.cpu.internal.blas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenBlasTest {
    @BeforeEach
    void packagedHere() {
        assumeTrue(!OpenBlas.libraries(OpenBlas.platform()).isEmpty(), "no OpenBLAS is packaged for this platform");
    }

    @Test
    void theLibraryStaysLoadedWhenABackendStops() throws Exception {
        OpenBlas first = OpenBlas.load(getClass().getClassLoader());
        first.close();

        // a redeployed backend must not copy, load and initialise 40 MB (and a thread pool) again
        assertThat(new ResidentLibraries().loaded("libopenblas.so.0")).isPresent();
    }

    @Test
    void aBackendStartedAfterAnotherStoppedMultipliesCorrectly() throws Exception {
        OpenBlas.load(getClass().getClassLoader()).close();
        try (OpenBlas blas = OpenBlas.load(getClass().getClassLoader());
                Arena arena = Arena.ofConfined()) {
            int m = 7, n = 5, k = 9;
            Random r = new Random(3);
            float[] a = new float[m * k];
            float[] b = new float[k * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextFloat() - 0.5f;
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = r.nextFloat() - 0.5f;
            }
            MemorySegment sa = arena.allocateFrom(ValueLayout.JAVA_FLOAT, a);
            MemorySegment sb = arena.allocateFrom(ValueLayout.JAVA_FLOAT, b);
            MemorySegment sc = arena.allocate(ValueLayout.JAVA_FLOAT, (long) m * n);

            blas.sgemm(false, false, m, n, k, sa, 0, k, sb, 0, n, sc, 0, n, false);

            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double want = 0;
                    for (int p = 0; p < k; p++) {
                        want += (double) a[i * k + p] * b[p * n + j];
                    }
                    assertThat(sc.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j))
                            .as("c[%d][%d]", i, j)
                            .isCloseTo((float) want, org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }
}
