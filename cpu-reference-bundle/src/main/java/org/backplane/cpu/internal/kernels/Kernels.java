package org.backplane.cpu.internal.kernels;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;

/**
 * One kernel path of the CPU backend: {@link FastKernels}, or {@link ReferencePathKernels} (the
 * float64 oracle run as a backend). Arguments were validated by the SPI; every method returns a new
 * row-major array and may throw {@link OutOfMemoryError} when allocating it, which the engine
 * captures as an asynchronous failure.
 */
public interface Kernels {
    /** {@code "fast"} or {@code "reference"}. */
    String name();

    float[] fill(float value, Shape shape, Cancel cancel);

    float[] unary(UnaryOp op, float[] x, Cancel cancel);

    float[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel);

    float[] matmul(float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel);

    float[] transpose(float[] x, Shape xs, int[] perm, Shape out, Cancel cancel);

    /** Over all elements when {@code all}, else over the normalised {@code axis}. */
    float[] reduce(ReduceOp op, float[] x, Shape xs, boolean all, int axis, Shape out, Cancel cancel);

    float[] softmax(float[] x, Shape xs, Cancel cancel);
}
