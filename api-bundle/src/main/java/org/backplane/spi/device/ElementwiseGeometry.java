package org.backplane.spi.device;

import java.util.Arrays;
import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Shapes;

/**
 * The index space of an elementwise kernel: the output's shape with size-1 axes dropped and
 * neighbouring axes merged wherever every operand allows it (so contiguous operands make one axis),
 * and for each operand (the output first) its offset and strides in that space, in elements. An
 * input broadcast along an axis has stride 0 there; a view keeps its own strides.
 */
public final class ElementwiseGeometry {
    private final long[] dims;
    private final long[] offsets;
    private final long[][] strides;

    private ElementwiseGeometry(long[] dims, long[] offsets, long[][] strides) {
        this.dims = dims;
        this.offsets = offsets;
        this.strides = strides;
    }

    /** The geometry of writing {@code out} (contiguous) from {@code inputs} (broadcast to its shape). */
    public static ElementwiseGeometry of(EngineArray out, EngineArray... inputs) {
        Shape[] shapes = new Shape[inputs.length];
        ArrayLayout[] layouts = new ArrayLayout[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            shapes[i] = inputs[i].shape();
            layouts[i] = inputs[i].layout();
        }
        return of(out.shape(), ArrayLayout.rowMajor(out.shape()), shapes, layouts);
    }

    /**
     * The geometry of writing elements of {@code shape} at {@code outLayout} (a part of a larger
     * output, say) from inputs of {@code shapes} at {@code layouts}, broadcast to {@code shape}.
     */
    public static ElementwiseGeometry of(Shape shape, ArrayLayout outLayout, Shape[] shapes, ArrayLayout[] layouts) {
        int rank = shape.rank();
        int operands = shapes.length + 1;
        long[][] full = new long[operands][];
        full[0] = outLayout.strides();
        long[] offsets = new long[operands];
        offsets[0] = outLayout.offset();
        for (int i = 1; i < operands; i++) {
            full[i] = Shapes.broadcastStrides(shapes[i - 1], layouts[i - 1].strides(), shape);
            offsets[i] = layouts[i - 1].offset();
        }
        long[] dims = new long[Math.max(1, rank)];
        long[][] strides = new long[operands][Math.max(1, rank)];
        int n = 0;
        for (int d = 0; d < rank; d++) {
            long size = shape.dim(d);
            if (size == 1) {
                continue;
            }
            boolean merge = n > 0;
            for (int o = 0; o < operands && merge; o++) {
                merge = strides[o][n - 1] == full[o][d] * size;
            }
            if (merge) {
                dims[n - 1] *= size;
                for (int o = 0; o < operands; o++) {
                    strides[o][n - 1] = full[o][d];
                }
            } else {
                dims[n] = size;
                for (int o = 0; o < operands; o++) {
                    strides[o][n] = full[o][d];
                }
                n++;
            }
        }
        if (n == 0) {
            dims[0] = shape.size() == 0 ? 0 : 1; // a scalar (or empty) space: one axis
            n = 1;
        }
        long[][] kept = new long[operands][];
        for (int o = 0; o < operands; o++) {
            kept[o] = Arrays.copyOf(strides[o], n);
        }
        return new ElementwiseGeometry(Arrays.copyOf(dims, n), offsets, kept);
    }

    /** Axes of the index space (at least 1). */
    public int rank() {
        return dims.length;
    }

    public long[] dims() {
        return dims.clone();
    }

    /** Offset of operand {@code i} (0: the output), in elements. */
    public long offset(int i) {
        return offsets[i];
    }

    /** Strides of operand {@code i} (0: the output) over the index space, in elements. */
    public long[] strides(int i) {
        return strides[i].clone();
    }

    /** Elements of the index space. */
    public long size() {
        long s = 1;
        for (long d : dims) {
            s *= d;
        }
        return s;
    }
}
