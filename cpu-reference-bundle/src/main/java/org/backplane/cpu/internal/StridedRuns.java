package org.backplane.cpu.internal;

import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;

/**
 * Walks an array's elements in row-major order as runs along its innermost axis, each run a start
 * position in the storage and a stride. Axes of size 1 are skipped and axes that lie one after
 * another in memory are merged first, so a contiguous array is one run and a transposed matrix is
 * one run per row.
 */
final class StridedRuns {
    private StridedRuns() {}

    /** Receives one run: {@code n} elements for output positions {@code out...}, storage {@code start + i * stride}. */
    interface Run {
        void run(int out, int start, int stride, int n);
    }

    static void forEach(Shape shape, ArrayLayout layout, Run run) {
        long size = shape.size();
        if (size == 0) {
            return;
        }
        int rank = shape.rank();
        int[] dims = new int[Math.max(1, rank)];
        long[] strides = new long[Math.max(1, rank)];
        int n = 0;
        for (int i = 0; i < rank; i++) {
            int d = shape.dim(i);
            if (d == 1) {
                continue;
            }
            long s = layout.stride(i);
            if (n > 0 && strides[n - 1] == s * d) {
                dims[n - 1] *= d;
                strides[n - 1] = s;
            } else {
                dims[n] = d;
                strides[n] = s;
                n++;
            }
        }
        if (n == 0) {
            run.run(0, Math.toIntExact(layout.offset()), 1, 1);
            return;
        }
        int inner = dims[n - 1];
        int innerStride = Math.toIntExact(strides[n - 1]);
        int rows = Math.toIntExact(size / inner);
        int[] index = new int[n];
        long pos = layout.offset();
        for (int r = 0; r < rows; r++) {
            run.run(r * inner, Math.toIntExact(pos), innerStride, inner);
            for (int d = n - 2; d >= 0; d--) { // advance the row counter, odometer style
                pos += strides[d];
                if (++index[d] < dims[d]) {
                    break;
                }
                pos -= strides[d] * dims[d];
                index[d] = 0;
            }
        }
    }
}
