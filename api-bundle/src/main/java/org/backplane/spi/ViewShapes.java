package org.backplane.spi;

import java.util.Arrays;
import java.util.List;
import org.backplane.api.Shape;

/**
 * Shape rules of the views and of the ops that rearrange arrays (transpose, reshape, expand and
 * squeeze, broadcast, slice, concatenate, take): validation and output shapes, shared by every
 * backend so that bad input is rejected identically everywhere, on the caller's thread. The rules of
 * the computing ops are in {@link Shapes}.
 */
public final class ViewShapes {
    private ViewShapes() {}

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
     * The shape {@code x} takes under {@link org.backplane.api.ComputeStream#reshape}: the same
     * element count, one dimension possibly {@code -1} (inferred).
     *
     * @throws IllegalArgumentException naming the sizes that do not fit
     */
    public static Shape reshape(Shape x, int[] dims) {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException(
                            "reshape to " + Arrays.toString(dims) + ": only one dimension may be -1");
                }
                infer = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException(
                        "reshape to " + Arrays.toString(dims) + ": negative dimension " + dims[i]);
            } else {
                known *= dims[i];
            }
        }
        int[] out = dims.clone();
        if (infer >= 0) {
            if (known == 0 || x.size() % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + x + " (" + x.size() + " elements) to "
                        + Arrays.toString(dims) + ": the other dimensions' product " + known + " does not divide it");
            }
            out[infer] = Math.toIntExact(x.size() / known);
        }
        Shape result = Shape.of(out);
        if (result.size() != x.size()) {
            throw new IllegalArgumentException("cannot reshape " + x + " (" + x.size() + " elements) to " + result
                    + " (" + result.size() + " elements)");
        }
        return result;
    }

    /**
     * Strides that show an array of {@code x} with {@code strides} as shape {@code to} without a copy,
     * or null when no strides can (a reshape that must copy). NumPy's rule: each group of the old
     * axes that merges into new axes must be contiguous within itself.
     */
    public static long[] reshapeStrides(Shape x, long[] strides, Shape to) {
        // Drop the old size-1 axes (their strides never matter) and walk both shapes in step.
        if (to.size() == 0) {
            return Shapes.strides(to);
        }
        int kept = 0;
        int[] od = new int[x.rank()];
        long[] os = new long[x.rank()];
        for (int i = 0; i < x.rank(); i++) {
            if (x.dim(i) != 1) {
                od[kept] = x.dim(i);
                os[kept++] = strides[i];
            }
        }
        od = Arrays.copyOf(od, kept);
        int[] nd = to.dims();
        long[] ns = new long[nd.length];
        int oi = 0;
        int ni = 0;
        while (oi < od.length && ni < nd.length) {
            long np = nd[ni];
            long op = od[oi];
            int oj = oi + 1;
            int nj = ni + 1;
            while (np != op) {
                if (np < op) {
                    np *= nd[nj++];
                } else {
                    op *= od[oj++];
                }
            }
            for (int k = oi; k < oj - 1; k++) {
                if (os[k] != os[k + 1] * od[k + 1]) {
                    return null; // the old axes of this group are not contiguous with each other
                }
            }
            long s = os[oj - 1];
            for (int k = nj - 1; k >= ni; k--) {
                ns[k] = s;
                s *= nd[k];
            }
            oi = oj;
            ni = nj;
        }
        for (; ni < nd.length; ni++) {
            ns[ni] = 1; // trailing size-1 axes
        }
        return ns;
    }

    /** The shape with a new axis of size 1 at {@code axis} (of the result; negative counts from its end). */
    public static int expandAxis(Shape x, int axis) {
        int rank = x.rank() + 1;
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(
                    "axis " + axis + " is out of range for expanding shape " + x + " (rank " + rank + " after)");
        }
        return a;
    }

    /**
     * The axes {@link org.backplane.api.ComputeStream#squeeze} removes: the given ones (each of
     * size 1), or every size-1 axis.
     */
    public static boolean[] squeezed(Shape x, int[] axes) {
        boolean[] drop = new boolean[x.rank()];
        if (axes == null || axes.length == 0) {
            for (int i = 0; i < x.rank(); i++) {
                drop[i] = x.dim(i) == 1;
            }
            return drop;
        }
        for (int axis : axes) {
            int a = x.normalizeAxis(axis);
            if (x.dim(a) != 1) {
                throw new IllegalArgumentException(
                        "cannot squeeze axis " + axis + " of " + x + ": its size is " + x.dim(a) + ", not 1");
            }
            drop[a] = true;
        }
        return drop;
    }

    /**
     * Validates broadcasting {@code x} to {@code to}.
     *
     * @throws IllegalArgumentException if {@code x} does not broadcast to exactly {@code to}
     */
    public static void broadcastTo(Shape x, Shape to) {
        if (x.rank() > to.rank()) {
            throw new IllegalArgumentException("cannot broadcast " + x + " to " + to + ": it has more axes");
        }
        for (int i = 1; i <= x.rank(); i++) {
            int dx = x.dim(x.rank() - i);
            int dt = to.dim(to.rank() - i);
            if (dx != dt && dx != 1) {
                throw new IllegalArgumentException("cannot broadcast " + x + " to " + to + ": axis " + (to.rank() - i)
                        + " has size " + dx + ", which is neither " + dt + " nor 1");
            }
        }
    }

    /** One axis of a slice, normalised: its first index, element count and step. */
    public record SliceAxis(int start, int count, int step) {}

    /**
     * NumPy's slice rules for one axis of size {@code n}: negative values count from the end,
     * bounds are clamped, a negative step walks backwards.
     */
    public static SliceAxis slice(int n, int start, int stop, int step) {
        if (step == 0) {
            throw new IllegalArgumentException("slice step must not be 0");
        }
        long s = start;
        long e = stop;
        if (step > 0) {
            s = s < 0 ? Math.max(0, s + n) : Math.min(s, n);
            e = e < 0 ? Math.max(0, e + n) : Math.min(e, n);
            long count = e > s ? (e - s + step - 1) / step : 0;
            return new SliceAxis((int) s, (int) count, step);
        }
        s = s < 0 ? Math.max(-1, s + n) : Math.min(s, n - 1L);
        e = e < 0 ? Math.max(-1, e + n) : Math.min(e, n - 1L);
        long count = s > e ? (s - e - 1) / -(long) step + 1 : 0;
        return new SliceAxis((int) Math.max(0, s), (int) count, step);
    }

    /**
     * The shape of concatenating {@code shapes} along {@code axis}.
     *
     * @throws IllegalArgumentException if ranks differ or a dimension other than {@code axis} differs
     */
    public static Shape concatenate(List<Shape> shapes, int axis) {
        if (shapes.isEmpty()) {
            throw new IllegalArgumentException("concatenate needs at least one array");
        }
        Shape first = shapes.getFirst();
        int a = first.normalizeAxis(axis);
        long total = 0;
        for (Shape s : shapes) {
            if (s.rank() != first.rank()) {
                throw new IllegalArgumentException(
                        "concatenate: shapes " + first + " and " + s + " have different ranks");
            }
            for (int i = 0; i < s.rank(); i++) {
                if (i != a && s.dim(i) != first.dim(i)) {
                    throw new IllegalArgumentException(
                            "concatenate along axis " + a + ": shapes " + first + " and " + s + " differ on axis " + i);
                }
            }
            total += s.dim(a);
        }
        int[] out = first.dims();
        out[a] = Math.toIntExact(total);
        return Shape.of(out);
    }

    /** The shape of {@code take(x, indices, axis)}: {@code x.shape[:axis] + indices.shape + x.shape[axis+1:]}. */
    public static Shape take(Shape x, Shape indices, int axis) {
        int a = x.normalizeAxis(axis);
        int[] out = new int[x.rank() - 1 + indices.rank()];
        int j = 0;
        for (int i = 0; i < a; i++) {
            out[j++] = x.dim(i);
        }
        for (int i = 0; i < indices.rank(); i++) {
            out[j++] = indices.dim(i);
        }
        for (int i = a + 1; i < x.rank(); i++) {
            out[j++] = x.dim(i);
        }
        return Shape.of(out);
    }
}
