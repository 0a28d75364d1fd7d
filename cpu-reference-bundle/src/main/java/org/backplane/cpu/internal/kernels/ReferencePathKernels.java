package org.backplane.cpu.internal.kernels;

import org.backplane.api.BinaryOp;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.reference.ReferenceKernels;

/** Runs the reference kernels as the backend's kernel path ({@code kernels=reference}). */
public final class ReferencePathKernels implements Kernels {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public float[] fill(float value, Shape shape, Cancel cancel) {
        return ReferenceKernels.fill(value, shape);
    }

    @Override
    public float[] unary(UnaryOp op, float[] x, Cancel cancel) {
        return ReferenceKernels.unary(op, x);
    }

    @Override
    public float[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel) {
        return ReferenceKernels.binary(op, a, as, b, bs);
    }

    @Override
    public float[] matmul(float[] a, Shape as, float[] b, Shape bs, Shape out, Cancel cancel) {
        return ReferenceKernels.matmul(a, as, b, bs);
    }

    @Override
    public float[] transpose(float[] x, Shape xs, int[] perm, Shape out, Cancel cancel) {
        return ReferenceKernels.transpose(x, xs, perm);
    }

    @Override
    public float[] reduce(ReduceOp op, float[] x, Shape xs, boolean all, int axis, Shape out, Cancel cancel) {
        return all ? ReferenceKernels.reduceAll(op, x) : ReferenceKernels.reduce(op, x, xs, axis);
    }

    @Override
    public float[] softmax(float[] x, Shape xs, Cancel cancel) {
        return ReferenceKernels.softmax(x, xs);
    }
}
