package org.backplane.spi.device;

import org.backplane.api.Shape;
import org.backplane.spi.Shapes;

/**
 * A (batched) matrix product in row-major terms: {@code batch} products of {@code [m, k] x [k, n]},
 * the operands' batch strides in elements (0 where an operand is one matrix for the whole batch).
 * The SPI gives the engines operands whose batch is either one matrix or the output's whole batch
 * (other broadcasts are materialised first), so two strides always describe it.
 */
public record MatmulGeometry(int m, int n, int k, int batch, long strideA, long strideB) {

    /** The geometry of {@code a x b -> out}, shapes validated by the SPI. */
    public static MatmulGeometry of(Shape a, Shape b, Shape out) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        int batch = Math.toIntExact(Shapes.batchOf(out).size());
        long strideA = Shapes.batchOf(a).size() == 1 ? 0 : (long) m * k;
        long strideB = Shapes.batchOf(b).size() == 1 ? 0 : (long) k * n;
        if (strideB == 0 && strideA != 0 && (long) batch * m <= Integer.MAX_VALUE) {
            // A batch of A against one B (x @ W in every layer of a model): contiguous A's batch is one
            // taller matrix, a single product instead of many small ones.
            return new MatmulGeometry(batch * m, n, k, 1, 0, 0);
        }
        return new MatmulGeometry(m, n, k, batch, strideA, strideB);
    }

    /** Elements of the output. */
    public long outputSize() {
        return (long) batch * m * n;
    }
}
