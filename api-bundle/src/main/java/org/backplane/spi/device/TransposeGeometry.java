package org.backplane.spi.device;

import org.backplane.api.Shape;
import org.backplane.spi.Shapes;

/**
 * A permutation of axes as a strided read: for each output axis, its size and the stride (in
 * elements) of the input axis it comes from. A scalar is one element.
 */
@SuppressWarnings("ArrayRecordComponent") // kernel parameters, read once and never compared
public record TransposeGeometry(long[] dims, long[] strides) {

    /** The geometry of permuting {@code x} by {@code perm} (output axis {@code i} is input axis {@code perm[i]}). */
    public static TransposeGeometry of(Shape x, int[] perm) {
        int rank = x.rank();
        if (rank == 0) {
            return new TransposeGeometry(new long[] {1}, new long[] {1});
        }
        long[] inStrides = Shapes.strides(x);
        long[] dims = new long[rank];
        long[] strides = new long[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = x.dim(perm[i]);
            strides[i] = inStrides[perm[i]];
        }
        return new TransposeGeometry(dims, strides);
    }

    /**
     * Whether the permutation swaps the last two axes and keeps the others: a batch of matrix
     * transposes, which devices do with a tiled kernel.
     */
    public static boolean isBatchedMatrixTranspose(int[] perm) {
        int rank = perm.length;
        if (rank < 2 || perm[rank - 2] != rank - 1 || perm[rank - 1] != rank - 2) {
            return false;
        }
        for (int d = 0; d < rank - 2; d++) {
            if (perm[d] != d) {
                return false;
            }
        }
        return true;
    }

    public int rank() {
        return dims.length;
    }
}
