package org.backplane.cpu.internal.kernels;

import org.backplane.api.UnaryOp;

/**
 * The few inner loops that need explicit SIMD to be fast: transcendental functions, reductions,
 * softmax rows and the matrix-multiply micro-kernel. {@link VectorSimd} uses the Vector API where
 * the runtime has {@code jdk.incubator.vector}; {@link ScalarSimd} is the portable fallback.
 * Plain arithmetic loops stay scalar Java, which the JIT vectorizes on its own.
 */
interface Simd {
    /** Rows of the micro-kernel's output tile. */
    int mr();

    /** Columns of the micro-kernel's output tile. */
    int nr();

    /** Which implementation this is, for device details and logs. */
    String description();

    /** {@code out[oo + i] = op(x[xo + i])} for {@code i < n}; EXP, LOG, TANH, SIGMOID, ERF, GELU, GELU_TANH, SILU. */
    void transcendental(UnaryOp op, float[] x, int xo, float[] out, int oo, int n);

    /** Sum of {@code x[off, off + n)} (float32 lanes, combined in float64 per block). */
    double sum(float[] x, int off, int n);

    /** Maximum of {@code x[off, off + n)}, NaN if any is NaN; {@code -Inf} for n = 0. */
    float max(float[] x, int off, int n);

    /** Softmax of one row: {@code out = exp(x - max) / sum}. */
    void softmaxRow(float[] x, int xo, float[] out, int oo, int n);

    /**
     * {@code C[mr x nr] (+)= Apanel x Bpanel} for one tile. {@code ap} holds {@code kc} steps of
     * {@link #mr()} values, {@code bp} {@code kc} steps of {@link #nr()} values (zero padded). Only
     * the top-left {@code rows x cols} of the tile is written to {@code c} (row stride {@code ldc});
     * {@code accumulate} adds to what {@code c} holds instead of overwriting it. {@code tile} is
     * scratch of {@code mr * nr} floats for partial tiles.
     */
    void gemmTile(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            float[] c,
            int co,
            int ldc,
            int rows,
            int cols,
            boolean accumulate,
            float[] tile);
}
