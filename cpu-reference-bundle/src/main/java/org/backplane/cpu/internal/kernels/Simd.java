package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import org.backplane.api.BinaryOp;
import org.backplane.api.UnaryOp;

/**
 * The inner loops of the float32 kernels, on native (or heap) segments indexed by element:
 * elementwise runs, transcendental functions, reductions, softmax rows and the matrix-multiply
 * micro-kernel. {@link VectorSimd} uses the Vector API where the runtime has
 * {@code jdk.incubator.vector}; {@link ScalarSimd} is the portable fallback. Every implementation
 * gives the same bits in interpreted and compiled code.
 */
interface Simd {
    /** Rows of the micro-kernel's output tile. */
    int mr();

    /** Columns of the micro-kernel's output tile. */
    int nr();

    /** Floats one vector holds: 1 for scalar loops, 16 for 512-bit vectors. */
    int floatsPerVector();

    /** Which implementation this is, for device details and logs. */
    String description();

    /** {@code out[oo + i] = op(x[xo + i])} for {@code i < n}: every float unary op but the logical one. */
    void unary(UnaryOp op, MemorySegment x, long xo, MemorySegment out, long oo, int n);

    /**
     * One contiguous run of a binary op, {@code out[oo + i] = op(a[ao + i * as], b[bo + i * bs])},
     * each operand either advancing ({@code 1}) or broadcast ({@code 0}); not the logical ops.
     */
    void binary(
            BinaryOp op,
            MemorySegment a,
            long ao,
            int as,
            MemorySegment b,
            long bo,
            int bs,
            MemorySegment out,
            long oo,
            int n);

    /** Sum of {@code x[off, off + n)} (float32 lanes, combined in float64 per block). */
    double sum(MemorySegment x, long off, int n);

    /** Maximum of {@code x[off, off + n)}, NaN if any is NaN; {@code -Inf} for n = 0. */
    float max(MemorySegment x, long off, int n);

    /** Softmax of one row: {@code out = exp(x - max) / sum}. */
    void softmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n);

    /**
     * Layer normalisation ({@code center}) or RMS normalisation of one row of {@code n}: statistics
     * with float32 lanes combined in float64, optional (null) weight and bias of length {@code n}.
     */
    void normalizeRow(
            MemorySegment x,
            long xo,
            int n,
            MemorySegment weight,
            MemorySegment bias,
            float epsilon,
            boolean center,
            MemorySegment out,
            long oo);

    /**
     * One row of attention scores, in place: {@code s * scale}, then with {@code keep} a score whose
     * mask value is 0 becomes minus infinity, else the mask value is added; no mask when null.
     */
    void scaleMaskRow(MemorySegment s, long so, int n, float scale, MemorySegment mask, long mo, boolean keep);

    /** Log-softmax of one row: {@code out = x - max - log(sum(exp(x - max)))}. */
    void logSoftmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n);

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
            MemorySegment c,
            long co,
            int ldc,
            int rows,
            int cols,
            boolean accumulate,
            float[] tile);
}
