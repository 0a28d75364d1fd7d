package org.backplane.spi;

import java.util.Arrays;
import org.backplane.api.ReduceOp;
import org.backplane.api.Shape;

/**
 * Shape rules of the ops: validation and output shapes, shared by every backend so that bad input
 * is rejected identically everywhere, on the caller's thread, with a clear message.
 */
public final class Shapes {
    private Shapes() {}

    /**
     * NumPy broadcasting: shapes align at their last axis; dimensions must be equal or one of them 1.
     *
     * @throws IllegalArgumentException if the shapes are incompatible
     */
    public static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = dimFromEnd(a, rank - 1 - i);
            int db = dimFromEnd(b, rank - 1 - i);
            if (da == db || db == 1) {
                out[i] = da;
            } else if (da == 1) {
                out[i] = db;
            } else {
                throw new IllegalArgumentException(
                        "operands could not be broadcast together with shapes " + a + " and " + b
                                + ": axis " + i + " of the result has sizes " + da + " and " + db
                                + " (dimensions must be equal or one of them 1)");
            }
        }
        return Shape.of(out);
    }

    /** Dimension {@code fromEnd} places before the last (0 is the last); 1 beyond the shape's rank. */
    private static int dimFromEnd(Shape s, int fromEnd) {
        int axis = s.rank() - 1 - fromEnd;
        return axis < 0 ? 1 : s.dim(axis);
    }

    /**
     * Strides (in elements) for reading {@code in} as if it had shape {@code out} under
     * broadcasting: 0 along broadcast dimensions. The result has {@code out.rank()} entries.
     */
    public static long[] broadcastStrides(Shape in, Shape out) {
        return broadcastStrides(in, strides(in), out);
    }

    /** Like {@link #broadcastStrides(Shape, Shape)}, for an input whose own strides are {@code inStrides}. */
    public static long[] broadcastStrides(Shape in, long[] inStrides, Shape out) {
        long[] strides = new long[out.rank()];
        for (int i = out.rank() - 1, j = in.rank() - 1; i >= 0; i--, j--) {
            strides[i] = j >= 0 && in.dim(j) != 1 ? inStrides[j] : 0;
        }
        return strides;
    }

    /** The dimensions as {@code long}s, for kernel parameters. */
    public static long[] dims(Shape s) {
        long[] dims = new long[s.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s.dim(i);
        }
        return dims;
    }

    /** Row-major strides (in elements). */
    public static long[] strides(Shape s) {
        long[] strides = new long[s.rank()];
        long stride = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            strides[i] = stride;
            stride *= s.dim(i);
        }
        return strides;
    }

    /**
     * Matrix product shape: {@code [..., m, k] x [..., k, n] -> [..., m, n]}, the leading (batch)
     * dimensions broadcasting by NumPy's rules.
     *
     * @throws IllegalArgumentException if a rank is below 2, the inner dimensions differ, or the
     *     batch dimensions do not broadcast
     */
    public static Shape matmul(Shape a, Shape b) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw new IllegalArgumentException(
                    "matmul takes 2-D matrices or stacks of them (rank 2 or more), but got shapes " + a + " and " + b);
        }
        int m = a.dim(-2);
        int k = a.dim(-1);
        int kb = b.dim(-2);
        int n = b.dim(-1);
        if (k != kb) {
            throw new IllegalArgumentException("matmul shapes " + a + " and " + b + " do not fit: the left operand has "
                    + k + " columns but the right one has " + kb + " rows");
        }
        Shape batch;
        try {
            batch = broadcast(batchOf(a), batchOf(b));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul batch dimensions of " + a + " and " + b
                    + " do not broadcast (each must be equal or one of them 1)");
        }
        int[] out = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        out[batch.rank()] = m;
        out[batch.rank() + 1] = n;
        return Shape.of(out);
    }

    /** The leading (batch) dimensions of a stack of matrices. */
    public static Shape batchOf(Shape s) {
        return Shape.of(Arrays.copyOf(s.dims(), Math.max(0, s.rank() - 2)));
    }

    /**
     * Normalises and validates reduction axes (none: all), sorted, without repeats.
     *
     * @throws IllegalArgumentException if an axis is out of range or repeated, or {@code op} would
     *     reduce an empty axis (it has no identity)
     */
    public static int[] reductionAxes(ReduceOp op, Shape x, int[] axes) {
        int[] normal;
        if (axes == null || axes.length == 0) {
            normal = new int[x.rank()];
            for (int i = 0; i < normal.length; i++) {
                normal[i] = i;
            }
        } else {
            normal = new int[axes.length];
            for (int i = 0; i < axes.length; i++) {
                normal[i] = x.normalizeAxis(axes[i]);
            }
            Arrays.sort(normal);
            for (int i = 1; i < normal.length; i++) {
                if (normal[i] == normal[i - 1]) {
                    throw new IllegalArgumentException("reduction axes " + Arrays.toString(axes) + " name axis "
                            + normal[i] + " of " + x + " twice");
                }
            }
        }
        if (op.needsElements()) {
            long count = 1;
            for (int a : normal) {
                count *= x.dim(a);
            }
            if (count == 0) {
                throw new IllegalArgumentException(op.opName() + " over axes " + Arrays.toString(normal) + " of shape "
                        + x + " reduces an empty set, which has no identity");
            }
        }
        return normal;
    }

    /** The shape after reducing the (normalised) {@code axes} of {@code x}, keeping them with size 1 when asked. */
    public static Shape reduced(Shape x, int[] axes, boolean keepDims) {
        int[] out = new int[keepDims ? x.rank() : x.rank() - axes.length];
        for (int i = 0, j = 0; i < x.rank(); i++) {
            boolean reducedAxis = Arrays.binarySearch(axes, i) >= 0;
            if (keepDims) {
                out[j++] = reducedAxis ? 1 : x.dim(i);
            } else if (!reducedAxis) {
                out[j++] = x.dim(i);
            }
        }
        return Shape.of(out);
    }

    /**
     * The shape after reducing {@code axis} of {@code x} (the axis is removed).
     *
     * @throws IllegalArgumentException if the axis is out of range, or {@code op} would reduce an
     *     empty axis (it has no identity)
     */
    public static Shape reduce(ReduceOp op, Shape x, int axis) {
        int a = x.normalizeAxis(axis);
        if (op.needsElements() && x.dim(a) == 0) {
            throw new IllegalArgumentException(op.opName() + " over axis " + axis + " of shape " + x
                    + " reduces an empty axis, which has no identity");
        }
        return reduced(x, new int[] {a}, false);
    }

    /**
     * Validates a reduction over all elements of {@code x}; the result is a scalar.
     *
     * @throws IllegalArgumentException if {@code op} would reduce an empty array
     */
    public static Shape reduceAll(ReduceOp op, Shape x) {
        if (op.needsElements() && x.size() == 0) {
            throw new IllegalArgumentException(op.opName() + " of the empty array of shape " + x + " has no identity");
        }
        return Shape.scalar();
    }

    /**
     * Validates softmax over an axis.
     *
     * @throws IllegalArgumentException for a scalar, or an axis out of range
     */
    public static Shape softmax(Shape x) {
        if (x.rank() == 0) {
            throw new IllegalArgumentException("softmax needs at least one axis, but got a scalar");
        }
        return x;
    }
}
