package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;

/** Writing a computed tile back to a matrix. */
final class Tiles {
    private Tiles() {}

    /** Copies (or adds) the top-left {@code rows x cols} of a tile with row stride {@code tileStride}. */
    static void store(
            float[] tile, int tileStride, MemorySegment c, long co, int ldc, int rows, int cols, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            long dst = co + (long) r * ldc;
            int src = r * tileStride;
            if (accumulate) {
                for (int j = 0; j < cols; j++) {
                    F32.set(c, dst + j, F32.get(c, dst + j) + tile[src + j]);
                }
            } else {
                MemorySegment.copy(tile, src, c, F32.LAYOUT, dst * Float.BYTES, cols);
            }
        }
    }
}
