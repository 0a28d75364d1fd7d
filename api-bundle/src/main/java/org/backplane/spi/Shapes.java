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
        long[] strides = new long[out.rank()];
        long stride = 1;
        for (int i = out.rank() - 1, j = in.rank() - 1; i >= 0; i--, j--) {
            if (j >= 0) {
                int d = in.dim(j);
                strides[i] = d == 1 ? 0 : stride;
                stride *= d;
            } else {
                strides[i] = 0;
            }
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
     * Matrix product shape: {@code [m,k]x[k,n] -> [m,n]}; with a 3-D operand the leading (batch)
     * dimensions broadcast.
     *
     * @throws IllegalArgumentException if a rank is not 2 or 3, or the inner dimensions differ
     */
    public static Shape matmul(Shape a, Shape b) {
        if (a.rank() < 2 || a.rank() > 3 || b.rank() < 2 || b.rank() > 3) {
            throw new IllegalArgumentException(
                    "matmul takes 2-D matrices or 3-D stacks of matrices, but got shapes " + a + " and " + b);
        }
        int m = a.dim(-2);
        int k = a.dim(-1);
        int kb = b.dim(-2);
        int n = b.dim(-1);
        if (k != kb) {
            throw new IllegalArgumentException("matmul shapes " + a + " and " + b + " do not fit: the left operand has "
                    + k + " columns but the right one has " + kb + " rows");
        }
        if (a.rank() == 2 && b.rank() == 2) {
            return Shape.of(m, n);
        }
        int ba = a.rank() == 3 ? a.dim(0) : 1;
        int bb = b.rank() == 3 ? b.dim(0) : 1;
        if (ba != bb && ba != 1 && bb != 1) {
            throw new IllegalArgumentException("matmul batch dimensions of " + a + " and " + b + " do not broadcast: "
                    + ba + " and " + bb + " (must be equal or one of them 1)");
        }
        int batch = ba == 1 ? bb : ba;
        return Shape.of(batch, m, n);
    }

    /**
     * Validates a permutation of the axes of {@code x}. An empty {@code axes} means "reverse".
     *
     * @return the normalised permutation
     * @throws IllegalArgumentException if {@code axes} is not a permutation of {@code 0..rank-1}
     */
    public static int[] permutation(Shape x, int[] axes) {
        int rank = x.rank();
        if (axes == null || axes.length == 0) {
            int[] reversed = new int[rank];
            for (int i = 0; i < rank; i++) {
                reversed[i] = rank - 1 - i;
            }
            return reversed;
        }
        if (axes.length != rank) {
            throw new IllegalArgumentException("transpose axes " + Arrays.toString(axes) + " must name each of the "
                    + rank + " axes of shape " + x + " exactly once");
        }
        int[] perm = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            int a = x.normalizeAxis(axes[i]);
            if (seen[a]) {
                throw new IllegalArgumentException("transpose axes " + Arrays.toString(axes) + " name axis " + a
                        + " twice; they must be a permutation of the axes of shape " + x);
            }
            seen[a] = true;
            perm[i] = a;
        }
        return perm;
    }

    /** The shape after permuting the axes of {@code x} by a validated permutation. */
    public static Shape permute(Shape x, int[] perm) {
        int[] out = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            out[i] = x.dim(perm[i]);
        }
        return Shape.of(out);
    }

    /**
     * The shape after reducing {@code axis} of {@code x} (the axis is removed).
     *
     * @throws IllegalArgumentException if the axis is out of range, or {@code MAX} would reduce an
     *     empty axis (it has no identity)
     */
    public static Shape reduce(ReduceOp op, Shape x, int axis) {
        int a = x.normalizeAxis(axis);
        if (op == ReduceOp.MAX && x.dim(a) == 0) {
            throw new IllegalArgumentException(
                    "max over axis " + axis + " of shape " + x + " reduces an empty axis, which has no identity");
        }
        int[] out = new int[x.rank() - 1];
        for (int i = 0, j = 0; i < x.rank(); i++) {
            if (i != a) {
                out[j++] = x.dim(i);
            }
        }
        return Shape.of(out);
    }

    /**
     * Validates a reduction over all elements of {@code x}; the result is a scalar.
     *
     * @throws IllegalArgumentException if {@code MAX} would reduce an empty array
     */
    public static Shape reduceAll(ReduceOp op, Shape x) {
        if (op == ReduceOp.MAX && x.size() == 0) {
            throw new IllegalArgumentException("max of the empty array of shape " + x + " has no identity");
        }
        return Shape.scalar();
    }

    /**
     * Validates softmax over the last axis.
     *
     * @throws IllegalArgumentException for a scalar
     */
    public static Shape softmax(Shape x) {
        if (x.rank() == 0) {
            throw new IllegalArgumentException("softmax needs at least one axis, but got a scalar");
        }
        return x;
    }
}
