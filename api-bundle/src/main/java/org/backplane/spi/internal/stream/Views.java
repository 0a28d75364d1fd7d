package org.backplane.spi.internal.stream;

import java.util.Arrays;
import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.Shapes;
import org.backplane.spi.ViewShapes;

/**
 * Views: arrays that share another array's storage with their own shape, offset and strides, made
 * without queuing any work. A reshape that strides cannot express copies first (the only view
 * operation that may queue work).
 */
final class Views {
    private final Ops ops;

    Views(Ops ops) {
        this.ops = ops;
    }

    ArrayImpl reshape(ArrayImpl x, int[] dims) {
        Shape to = ViewShapes.reshape(x.shape(), dims);
        long[] strides = ViewShapes.reshapeStrides(x.shape(), x.layout().strides(), to);
        if (strides != null) {
            return ops.view(x, to, new ArrayLayout(x.layout().offset(), strides));
        }
        ArrayImpl copy = ops.contiguous(x);
        return ops.view(copy, to, ArrayLayout.rowMajor(to));
    }

    ArrayImpl expandDims(ArrayImpl x, int axis) {
        int a = ViewShapes.expandAxis(x.shape(), axis);
        int[] dims = x.shape().dims();
        long[] strides = x.layout().strides();
        int[] nd = new int[dims.length + 1];
        long[] ns = new long[dims.length + 1];
        for (int i = 0, j = 0; i < nd.length; i++) {
            if (i == a) {
                nd[i] = 1;
                ns[i] = 0;
            } else {
                nd[i] = dims[j];
                ns[i] = strides[j++];
            }
        }
        return ops.view(x, Shape.of(nd), new ArrayLayout(x.layout().offset(), ns));
    }

    ArrayImpl squeeze(ArrayImpl x, int[] axes) {
        boolean[] drop = ViewShapes.squeezed(x.shape(), axes);
        int kept = 0;
        for (boolean d : drop) {
            kept += d ? 0 : 1;
        }
        int[] nd = new int[kept];
        long[] ns = new long[kept];
        for (int i = 0, j = 0; i < drop.length; i++) {
            if (!drop[i]) {
                nd[j] = x.shape().dim(i);
                ns[j++] = x.layout().stride(i);
            }
        }
        return ops.view(x, Shape.of(nd), new ArrayLayout(x.layout().offset(), ns));
    }

    ArrayImpl broadcastTo(ArrayImpl x, int[] dims) {
        Shape to = Shape.of(dims);
        ViewShapes.broadcastTo(x.shape(), to);
        long[] strides = Shapes.broadcastStrides(x.shape(), x.layout().strides(), to);
        return ops.view(x, to, new ArrayLayout(x.layout().offset(), strides));
    }

    ArrayImpl slice(ArrayImpl x, int[] start, int[] stop, int[] step) {
        int rank = x.shape().rank();
        if (start.length != rank || stop.length != rank || step.length != rank) {
            throw new IllegalArgumentException(
                    "slice of " + x.shape() + " needs start, stop and step for each of its " + rank
                            + " axes, but got " + Arrays.toString(start) + ", " + Arrays.toString(stop) + ", "
                            + Arrays.toString(step));
        }
        long offset = x.layout().offset();
        int[] nd = new int[rank];
        long[] ns = new long[rank];
        for (int i = 0; i < rank; i++) {
            ViewShapes.SliceAxis s = ViewShapes.slice(x.shape().dim(i), start[i], stop[i], step[i]);
            nd[i] = s.count();
            ns[i] = x.layout().stride(i) * s.step();
            if (s.count() > 0) {
                offset += (long) s.start() * x.layout().stride(i);
            }
        }
        return ops.view(x, Shape.of(nd), new ArrayLayout(offset, ns));
    }

    ArrayImpl transpose(ArrayImpl x, int[] axes) {
        int[] perm = ViewShapes.permutation(x.shape(), axes);
        long[] ns = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            ns[i] = x.layout().stride(perm[i]);
        }
        return ops.view(
                x,
                ViewShapes.permute(x.shape(), perm),
                new ArrayLayout(x.layout().offset(), ns));
    }
}
