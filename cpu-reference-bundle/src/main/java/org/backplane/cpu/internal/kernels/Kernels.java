package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.spi.device.AttentionGeometry;

/**
 * The CPU backend's float32 kernels, on row-major, dense float32 segments: inputs are read, the
 * output segment (exactly the output's size) is written, every element of it. Types other than
 * float32 and strided views are converted by the lowering around these calls. Arguments were
 * validated by the SPI.
 */
public interface Kernels {
    /** {@code "fast"} or {@code "scalar"}. */
    String name();

    /** A floating unary op (not the logical one) of {@code n} elements. */
    void unary(UnaryOp op, MemorySegment x, MemorySegment out, int n, Cancel cancel);

    /**
     * A binary op computed in float32, NumPy broadcasting from {@code as} and {@code bs} to
     * {@code outShape}; comparisons give 1 or 0. Not the logical ops.
     */
    void binary(
            BinaryOp op,
            MemorySegment a,
            Shape as,
            MemorySegment b,
            Shape bs,
            MemorySegment out,
            Shape outShape,
            Cancel cancel);

    /** Matrix product with broadcast batch dimensions. */
    void matmul(MemorySegment a, Shape as, MemorySegment b, Shape bs, MemorySegment out, Shape outShape, Cancel cancel);

    /** A product's right-hand side packed once and reused by later products (a model's weights). */
    interface PackedOperand {}

    /**
     * Whether a product of {@code rows} rows and depth {@code depth} should run on its right-hand
     * side packed once (where that operand can be kept packed) rather than on a product per call.
     */
    boolean runsPacked(long rows, long depth);

    /**
     * {@code b} ({@code k x n}, dense) packed for {@link #matmul(MemorySegment, int, PackedOperand,
     * MemorySegment, Cancel)}, or null where the packed copies already hold their bound; give it back
     * with {@link #release} when its array goes.
     */
    PackedOperand pack(MemorySegment b, int k, int n);

    /** Gives back what a packed operand holds against the bound. */
    void release(PackedOperand packed);

    /** {@code a} ({@code rows x k}, dense) times a packed {@code k x n} matrix, into {@code rows x n}. */
    void matmul(MemorySegment a, int rows, PackedOperand b, MemorySegment out, Cancel cancel);

    /** Reduction over all elements when {@code all}, else over the normalised {@code axis}; {@code outSize} results. */
    void reduce(
            ReduceOp op,
            MemorySegment x,
            Shape xs,
            boolean all,
            int axis,
            MemorySegment out,
            int outSize,
            Cancel cancel);

    /** Softmax (or log-softmax) over {@code axis}. */
    void softmax(MemorySegment x, Shape xs, int axis, boolean log, MemorySegment out, Cancel cancel);

    /**
     * Layer normalisation ({@code center}) or RMS normalisation of the rows of {@code n} of {@code size}
     * elements, with optional (null) weight and bias of length {@code n}; statistics in float32 or better.
     */
    void normalize(
            MemorySegment x,
            int size,
            int n,
            MemorySegment weight,
            MemorySegment bias,
            float epsilon,
            boolean center,
            MemorySegment out,
            Cancel cancel);

    /**
     * Scaled dot-product attention read straight from float32 storage through {@code g}; false
     * (nothing done) when this kernel path cannot, and the caller composes it from the others.
     *
     * @param out dense float32 {@code [batch, lq, dv]}
     */
    boolean attention(
            AttentionGeometry g,
            MemorySegment q,
            MemorySegment k,
            MemorySegment v,
            FastKernels.MaskRows mask,
            boolean keep,
            float scale,
            MemorySegment out,
            Cancel cancel);

    /** The last two axes of {@code batches} row-major {@code rows x cols} matrices swapped. */
    void transposeMatrices(MemorySegment x, int batches, int rows, int cols, MemorySegment out, Cancel cancel);
}
