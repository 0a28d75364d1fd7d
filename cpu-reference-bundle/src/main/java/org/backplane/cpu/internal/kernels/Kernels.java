package org.backplane.cpu.internal.kernels;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;

/**
 * One kernel path of the CPU backend, in float32 on row-major {@code float[]} data:
 * {@link FastKernels}, or {@link ReferencePathKernels} (the float64 oracle run as a backend). Types
 * other than float32 are converted by the lowering around these calls. Arguments were validated by
 * the SPI; every method returns a new array and may throw {@link OutOfMemoryError} when allocating
 * it, which the engine captures as an asynchronous failure.
 */
public interface Kernels {
    /** {@code "fast"}, {@code "scalar"} or {@code "reference"}. */
    String name();

    /** A floating unary op (not the integer-only or logical ones). */
    float[] unary(UnaryOp op, float[] x, Cancel cancel);

    /**
     * A binary op computed in float32, NumPy broadcasting from {@code as} and {@code bs} to
     * {@code out}; comparisons give 1 or 0. Not the logical ops.
     */
    float[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel);

    /** Matrix product with broadcast batch dimensions. */
    float[] matmul(float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel);

    /** Reduction over all elements when {@code all}, else over the normalised {@code axis}; {@code outSize} results. */
    float[] reduce(ReduceOp op, float[] x, Shape xs, boolean all, int axis, int outSize, Cancel cancel);

    /** Softmax (or log-softmax) over {@code axis}. */
    float[] softmax(float[] x, Shape xs, int axis, boolean log, Cancel cancel);

    /**
     * Layer normalisation ({@code center}) or RMS normalisation of rows of {@code n}, with optional
     * (null) weight and bias of length {@code n}; statistics in float32 or better.
     */
    float[] normalize(float[] x, int n, float[] weight, float[] bias, float epsilon, boolean center, Cancel cancel);

    /** The last two axes of {@code batches} row-major {@code rows x cols} matrices swapped. */
    float[] transposeMatrices(float[] x, int batches, int rows, int cols, Cancel cancel);
}
