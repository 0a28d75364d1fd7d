package org.backplane.onnx.internal;

import static org.backplane.onnx.internal.OpKernel.allHost;
import static org.backplane.onnx.internal.OpKernel.one;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.cpu.reference.ReferenceKernels;
import org.backplane.cpu.reference.Tensor;
import org.backplane.onnx.internal.proto.Onnx.AttributeProto;

/**
 * ONNX's shape and data-movement ops. On the device they are Backplane's views (reshape, transpose,
 * slice, expand: no copies); on the host (the shape subgraph: {@code Shape}, {@code Gather},
 * {@code Concat}, {@code Unsqueeze} of small int64 tensors) the reference kernels fold them per input
 * shape.
 */
final class ShapeKernels {
    private ShapeKernels() {}

    static void register(Map<String, OpKernel> k) {
        k.put("Identity", (run, node, in) -> one(in[0]));
        k.put("Shape", ShapeKernels::shape);
        k.put("Reshape", ShapeKernels::reshape);
        k.put("Flatten", ShapeKernels::flatten);
        k.put("Transpose", ShapeKernels::transpose);
        k.put("Unsqueeze", ShapeKernels::unsqueeze);
        k.put("Squeeze", ShapeKernels::squeeze);
        k.put("Concat", ShapeKernels::concat);
        k.put("Slice", ShapeKernels::slice);
        k.put("Gather", ShapeKernels::gather);
        k.put("Expand", ShapeKernels::expand);
        k.put("ConstantOfShape", ShapeKernels::constantOfShape);
        k.put("Range", ShapeKernels::range);
    }

    static int[] ints(Tensor t, Node node, String what) {
        int[] v = new int[t.data().length];
        for (int i = 0; i < v.length; i++) {
            double d = t.data()[i];
            v[i] = d >= Integer.MAX_VALUE ? Integer.MAX_VALUE : d <= Integer.MIN_VALUE ? Integer.MIN_VALUE : (int) d;
        }
        if (t.dtype().isFloatingPoint()) {
            throw node.unsupported(
                    what + " must be an integer tensor, not " + t.dtype().id());
        }
        return v;
    }

    private static Value[] shape(Run run, Node node, Value[] in) {
        int[] dims = in[0].shape().dims();
        int rank = dims.length;
        int start = (int) node.i("start", 0);
        int end = (int) node.i("end", rank);
        start = Math.clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.clamp(end < 0 ? end + rank : end, 0, rank);
        long[] v = new long[Math.max(0, end - start)];
        for (int i = 0; i < v.length; i++) {
            v[i] = dims[start + i];
        }
        return one(new Value.Host(Tensor.of(v, v.length)));
    }

    private static Value[] reshape(Run run, Node node, Value[] in) {
        int[] target = ints(Run.host(in[1]), node, "the shape");
        int[] dims = in[0].shape().dims();
        boolean allowZero = node.i("allowzero", 0) != 0;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 0 && !allowZero) {
                if (i >= dims.length) {
                    throw node.unsupported("shape " + Arrays.toString(target) + " copies axis " + i + " of "
                            + in[0].shape() + ", which has no such axis");
                }
                target[i] = dims[i];
            }
        }
        return one(reshaped(run, in[0], target));
    }

    static Value reshaped(Run run, Value x, int[] dims) {
        if (x instanceof Value.Host h) {
            return new Value.Host(ReferenceKernels.reshape(h.tensor(), dims));
        }
        return new Value.Device(run.s.reshape(run.device(x), dims));
    }

    private static Value[] flatten(Run run, Node node, Value[] in) {
        int[] dims = in[0].shape().dims();
        int axis = (int) node.i("axis", 1);
        axis = axis < 0 ? axis + dims.length : axis;
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= dims[i];
        }
        return one(reshaped(run, in[0], new int[] {outer, -1}));
    }

    private static Value[] transpose(Run run, Node node, Value[] in) {
        int rank = in[0].shape().rank();
        long[] p = node.ints("perm");
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = p == null ? rank - 1 - i : (int) p[i];
        }
        if (in[0] instanceof Value.Host h) {
            return one(new Value.Host(ReferenceKernels.transpose(h.tensor(), perm)));
        }
        return one(new Value.Device(run.s.transpose(run.device(in[0]), perm)));
    }

    /** Axes given by the {@code axes} input (opset 13 and later) or attribute (earlier). */
    private static int[] axes(Node node, Value[] in, int index) {
        if (in.length > index && in[index] != null) {
            return ints(Run.host(in[index]), node, "axes");
        }
        long[] a = node.ints("axes");
        return a == null ? null : Arrays.stream(a).mapToInt(Math::toIntExact).toArray();
    }

    private static Value[] unsqueeze(Run run, Node node, Value[] in) {
        int[] axes = axes(node, in, 1);
        if (axes == null) {
            throw node.unsupported("no axes to insert");
        }
        int rank = in[0].shape().rank() + axes.length;
        int[] normal =
                Arrays.stream(axes).map(a -> a < 0 ? a + rank : a).sorted().toArray();
        List<Integer> dims = new ArrayList<>();
        for (int d : in[0].shape().dims()) {
            dims.add(d);
        }
        for (int a : normal) {
            dims.add(a, 1);
        }
        return one(
                reshaped(run, in[0], dims.stream().mapToInt(Integer::intValue).toArray()));
    }

    private static Value[] squeeze(Run run, Node node, Value[] in) {
        int[] axes = axes(node, in, 1);
        Shape x = in[0].shape();
        boolean[] drop = new boolean[x.rank()];
        for (int i = 0; i < x.rank(); i++) {
            drop[i] = axes == null && x.dim(i) == 1;
        }
        for (int a : axes == null ? new int[0] : axes) {
            int n = a < 0 ? a + x.rank() : a;
            if (n < 0 || n >= x.rank() || x.dim(n) != 1) {
                throw node.unsupported("cannot squeeze axis " + a + " of " + x);
            }
            drop[n] = true;
        }
        List<Integer> dims = new ArrayList<>();
        for (int i = 0; i < x.rank(); i++) {
            if (!drop[i]) {
                dims.add(x.dim(i));
            }
        }
        return one(
                reshaped(run, in[0], dims.stream().mapToInt(Integer::intValue).toArray()));
    }

    private static Value[] concat(Run run, Node node, Value[] in) {
        int axis = (int) node.i("axis", 0);
        if (allHost(in)) {
            List<Tensor> parts = Arrays.stream(in).map(Run::host).toList();
            return one(new Value.Host(ReferenceKernels.concatenate(parts, axis)));
        }
        List<DeviceArray> parts = Arrays.stream(in).map(run::device).toList();
        return one(new Value.Device(run.s.concatenate(parts, axis)));
    }

    private static Value[] slice(Run run, Node node, Value[] in) {
        Shape x = in[0].shape();
        int[] starts = ints(Run.host(in[1]), node, "starts");
        int[] ends = ints(Run.host(in[2]), node, "ends");
        int[] axes = in.length > 3 && in[3] != null ? ints(Run.host(in[3]), node, "axes") : null;
        int[] steps = in.length > 4 && in[4] != null ? ints(Run.host(in[4]), node, "steps") : null;
        int rank = x.rank();
        int[] start = new int[rank];
        int[] stop = new int[rank];
        int[] step = new int[rank];
        Arrays.fill(stop, Integer.MAX_VALUE);
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            int a = axes == null ? i : (axes[i] < 0 ? axes[i] + rank : axes[i]);
            start[a] = starts[i];
            stop[a] = ends[i];
            step[a] = steps == null ? 1 : steps[i];
        }
        if (in[0] instanceof Value.Host h) {
            return one(new Value.Host(ReferenceKernels.slice(h.tensor(), start, stop, step)));
        }
        return one(new Value.Device(run.s.slice(run.device(in[0]), start, stop, step)));
    }

    private static Value[] gather(Run run, Node node, Value[] in) {
        int axis = (int) node.i("axis", 0);
        if (allHost(in)) {
            return one(new Value.Host(ReferenceKernels.take(Run.host(in[0]), Run.host(in[1]), axis)));
        }
        return one(new Value.Device(run.s.take(run.device(in[0]), run.device(in[1]), axis)));
    }

    /** Expand: bidirectional broadcast of {@code x} with the given shape (a view on the device). */
    private static Value[] expand(Run run, Node node, Value[] in) {
        Shape to = broadcast(in[0].shape(), Shape.of(ints(Run.host(in[1]), node, "the shape")), node);
        if (in[0] instanceof Value.Host h) {
            return one(new Value.Host(ReferenceKernels.broadcastTo(h.tensor(), to.dims())));
        }
        return one(new Value.Device(run.s.broadcastTo(run.device(in[0]), to.dims())));
    }

    /** NumPy's broadcast of two shapes. */
    static Shape broadcast(Shape a, Shape b, Node node) {
        int rank = Math.max(a.rank(), b.rank());
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            int x = i < rank - a.rank() ? 1 : a.dim(i - (rank - a.rank()));
            int y = i < rank - b.rank() ? 1 : b.dim(i - (rank - b.rank()));
            if (x != y && x != 1 && y != 1) {
                throw node.unsupported("shapes " + a + " and " + b + " do not broadcast");
            }
            dims[i] = x == 1 ? y : x;
        }
        return Shape.of(dims);
    }

    private static Value[] constantOfShape(Run run, Node node, Value[] in) {
        Shape shape = Shape.of(ints(Run.host(in[0]), node, "the shape"));
        AttributeProto value = node.attribute("value");
        DType type = DType.FLOAT32;
        double v = 0;
        if (value != null) {
            Tensor t = TensorData.of(value.getT(), java.lang.foreign.Arena.ofAuto(), node.describe())
                    .toTensor();
            type = t.dtype();
            v = t.data().length > 0 ? t.data()[0] : 0;
        }
        if (shape.size() <= TensorData.HOST_ELEMENTS || !type.isFloatingPoint()) {
            return one(new Value.Host(ReferenceKernels.fill(type, v, shape)));
        }
        return one(new Value.Device(run.s.full(type, v, shape.dims())));
    }

    private static Value[] range(Run run, Node node, Value[] in) {
        Tensor start = Run.host(in[0]);
        Tensor limit = Run.host(in[1]);
        Tensor delta = Run.host(in[2]);
        double s = start.data()[0];
        double l = limit.data()[0];
        double d = delta.data()[0];
        int n = (int) Math.max(0, Math.ceil((l - s) / d));
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = s + i * d;
        }
        return one(new Value.Host(Tensor.of(start.dtype(), Shape.of(n), v)));
    }
}
