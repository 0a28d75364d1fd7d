package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import org.backplane.cpu.internal.blas.OpenBlas;

/**
 * Matrix products on OpenBLAS, one thread per call: a product large enough to share is cut into
 * blocks of rows (or of columns, when it has fewer rows than columns and is not tall) and the blocks run on the caller and the
 * backend's compute pool, so that several streams' products never ask for more threads than there
 * are cores. A row's (or column's) result does not depend on how the product was cut.
 */
final class BlasProducts implements Products {
    /** Below this many multiply-adds a product runs in one call on the caller's thread. */
    private static final long SHARED = 1L << 21;
    /** From this many rows a product is cut by rows even when it has more columns. */
    private static final int TALL = 512;
    /** Rows (or columns) of the smallest block worth handing to another thread. */
    private static final int MIN_BLOCK = 16;

    private final OpenBlas blas;
    private final Parallel parallel;

    BlasProducts(OpenBlas blas, Parallel parallel) {
        this.blas = blas;
        this.parallel = parallel;
    }

    @Override
    public void multiply(
            MemorySegment a,
            long ao,
            MemorySegment b,
            long bo,
            MemorySegment c,
            long co,
            int m,
            int n,
            int k,
            Cancel cancel) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            F32.fill(c, co, (long) m * n, 0f);
            return;
        }
        int threads = parallel.threads();
        if (threads == 1 || (long) m * n * k < SHARED) {
            blas.sgemm(false, false, m, n, k, a, ao, k, b, bo, n, c, co, n, false);
            return;
        }
        // Each call packs all of its B: cut by rows, every thread packs the whole B, which costs as
        // much as the product itself when there are few rows (one sentence: 128); cut by columns,
        // each packs its own part. Tall products keep the row cut (measured no better by columns).
        if ((m >= n || m >= TALL) && m >= threads * MIN_BLOCK) {
            int blocks = Math.max(1, Math.min(threads, m / MIN_BLOCK));
            int per = Math.ceilDiv(m, blocks);
            parallel.forEach(
                    Math.ceilDiv(m, per),
                    blk -> {
                        int r0 = blk * per;
                        int rows = Math.min(per, m - r0);
                        blas.sgemm(
                                false,
                                false,
                                rows,
                                n,
                                k,
                                a,
                                ao + (long) r0 * k,
                                k,
                                b,
                                bo,
                                n,
                                c,
                                co + (long) r0 * n,
                                n,
                                false);
                    },
                    cancel);
            return;
        }
        int blocks = Math.max(1, Math.min(threads, n / MIN_BLOCK));
        int per = Math.ceilDiv(Math.ceilDiv(n, blocks), MIN_BLOCK) * MIN_BLOCK;
        parallel.forEach(
                Math.ceilDiv(n, per),
                blk -> {
                    int c0 = blk * per;
                    int cols = Math.min(per, n - c0);
                    blas.sgemm(false, false, m, cols, k, a, ao, k, b, bo + c0, n, c, co + c0, n, false);
                },
                cancel);
    }

    @Override
    public String description() {
        return blas.description() + ", one thread per call, spread over the backend's pool";
    }
}
