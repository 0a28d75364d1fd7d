package org.backplane.spi.device;

import org.backplane.api.Shape;

/**
 * A (batched) matrix product in row-major terms: {@code batch} products of {@code [m, k] x [k, n]},
 * the operands' batch strides in elements (0 where an operand broadcasts over the batch).
 */
public record MatmulGeometry(int m, int n, int k, int batch, long strideA, long strideB) {

    /** The geometry of {@code a x b -> out}, shapes validated by the SPI. */
    public static MatmulGeometry of(Shape a, Shape b, Shape out) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        int batch = out.rank() == 3 ? out.dim(0) : 1;
        long strideA = a.rank() == 3 && a.dim(0) != 1 ? (long) m * k : 0;
        long strideB = b.rank() == 3 && b.dim(0) != 1 ? (long) k * n : 0;
        return new MatmulGeometry(m, n, k, batch, strideA, strideB);
    }

    /** Elements of the output. */
    public long outputSize() {
        return (long) batch * m * n;
    }
}
