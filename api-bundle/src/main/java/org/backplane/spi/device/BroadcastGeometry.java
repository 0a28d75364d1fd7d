package org.backplane.spi.device;

import org.backplane.api.Shape;
import org.backplane.spi.Shapes;

/**
 * How a binary op's operands are read for each output element: the output's dimensions and each
 * operand's strides in elements (0 along broadcast dimensions). Operands of the output's own shape
 * are read as one contiguous run; a scalar output is one element.
 *
 * @param dims the output's dimensions (at least one)
 * @param stridesA the first operand's strides, one per dimension
 * @param stridesB the second operand's strides, one per dimension
 */
@SuppressWarnings("ArrayRecordComponent") // kernel parameters, read once and never compared
public record BroadcastGeometry(long[] dims, long[] stridesA, long[] stridesB) {

    public static BroadcastGeometry of(Shape a, Shape b, Shape out) {
        if (out.rank() == 0) {
            return new BroadcastGeometry(new long[] {1}, new long[] {0}, new long[] {0});
        }
        if (a.equals(out) && b.equals(out)) {
            return new BroadcastGeometry(new long[] {out.size()}, new long[] {1}, new long[] {1});
        }
        return new BroadcastGeometry(
                Shapes.dims(out), Shapes.broadcastStrides(a, out), Shapes.broadcastStrides(b, out));
    }

    public int rank() {
        return dims.length;
    }
}
