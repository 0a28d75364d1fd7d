package org.backplane.cpu.internal.kernels;

/** Writing a computed tile back to a matrix. */
final class Tiles {
    private Tiles() {}

    /** Copies (or adds) the top-left {@code rows x cols} of a tile with row stride {@code tileStride}. */
    static void store(
            float[] tile, int tileStride, float[] c, int co, int ldc, int rows, int cols, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            int dst = co + r * ldc;
            int src = r * tileStride;
            if (accumulate) {
                for (int j = 0; j < cols; j++) {
                    c[dst + j] += tile[src + j];
                }
            } else {
                System.arraycopy(tile, src, c, dst, cols);
            }
        }
    }
}
