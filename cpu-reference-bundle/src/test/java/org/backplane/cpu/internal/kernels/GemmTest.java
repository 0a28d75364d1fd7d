package org.backplane.cpu.internal.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Backplane's own matrix products against a float64 loop, on every SIMD implementation. The kit
 * reaches these kernels only where OpenBLAS does not load (the fast path prefers it), so they are
 * checked here: shapes that end in partial tiles on both axes, depths past one packed panel, and
 * products spread over threads.
 */
class GemmTest {
    private static final ExecutorService POOL = Executors.newFixedThreadPool(3);

    @AfterAll
    static void stop() {
        POOL.shutdownNow();
    }

    @Test
    void vectorKernelsMatchAFloat64Product() {
        assertThat(VectorAvailability.available())
                .as("the tests run with jdk.incubator.vector")
                .isTrue();
        check(VectorAvailability.newVectorSimd());
    }

    @Test
    void scalarKernelsMatchAFloat64Product() {
        check(new ScalarSimd(false));
    }

    private static void check(Simd simd) {
        int[][] shapes = {
            {1, 1, 1},
            {3, 5, 7},
            {4, 16, 8},
            {17, 33, 9},
            {64, 64, 64},
            {97, 130, 300},
            {128, 384, 40},
            {5, 1100, 19},
            {200, 31, 1030},
            {24, 384, 1536},
            {24, 1536, 384},
            {2, 500, 2100}
        };
        SplittableRandom random = new SplittableRandom(21);
        for (Parallel parallel : new Parallel[] {new Parallel(null, 0), new Parallel(POOL, 3)}) {
            Gemm gemm = new Gemm(simd, parallel);
            for (int[] s : shapes) {
                int m = s[0];
                int k = s[1];
                int n = s[2];
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment a = random(arena, (long) m * k, random);
                    MemorySegment b = random(arena, (long) k * n, random);
                    MemorySegment c = arena.allocate((long) m * n * Float.BYTES, 64);
                    gemm.multiply(a, 0, b, 0, c, 0, m, n, k, Cancel.none());
                    MemorySegment fromPacked = arena.allocate((long) m * n * Float.BYTES, 64);
                    gemm.multiply(a, 0, gemm.pack(b, 0, k, n), fromPacked, 0, m, Cancel.none());
                    if ((long) m * n * k > Gemm.SMALL) { // small products take a plain loop unless packed
                        assertThat(fromPacked.mismatch(c))
                                .as("B packed once gives the same product, %d x %d x %d", m, k, n)
                                .isEqualTo(-1L);
                    }
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double exact = 0;
                            double magnitude = 0;
                            for (int p = 0; p < k; p++) {
                                double t = (double) F32.get(a, (long) i * k + p) * F32.get(b, (long) p * n + j);
                                exact += t;
                                magnitude += Math.abs(t);
                            }
                            double bound = (k + 2) * Math.ulp(1f) / 2 * magnitude + Float.MIN_NORMAL;
                            for (int packed = 0; packed < 2; packed++) {
                                MemorySegment product = packed == 0 ? c : fromPacked;
                                assertThat((double) F32.get(product, (long) i * n + j))
                                        .as(
                                                "%s, %d threads, %d x %d x %d at [%d, %d]%s",
                                                simd.description(),
                                                parallel.threads(),
                                                m,
                                                k,
                                                n,
                                                i,
                                                j,
                                                packed == 0 ? "" : ", B packed")
                                        .isCloseTo(exact, org.assertj.core.data.Offset.offset(bound));
                            }
                        }
                    }
                }
            }
        }
    }

    private static MemorySegment random(Arena arena, long count, SplittableRandom random) {
        MemorySegment s = arena.allocate(count * Float.BYTES, 64);
        for (long i = 0; i < count; i++) {
            F32.set(s, i, (float) (random.nextDouble() * 2 - 1));
        }
        return s;
    }
}
