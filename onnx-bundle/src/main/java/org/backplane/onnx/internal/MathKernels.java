package org.backplane.onnx.internal;

import static org.backplane.onnx.internal.OpKernel.allHost;
import static org.backplane.onnx.internal.OpKernel.one;

import java.util.Arrays;
import java.util.Map;
import org.backplane.api.DeviceArray;
import org.backplane.api.ReduceOp;
import org.backplane.cpu.reference.ReferenceKernels;

/** ONNX's matrix products, reductions, softmax and layer normalisation, as Backplane's fused ops. */
final class MathKernels {
    private MathKernels() {}

    static void register(Map<String, OpKernel> k) {
        k.put("MatMul", (run, node, in) -> one(new Value.Device(run.s.matmul(run.device(in[0]), run.device(in[1])))));
        k.put("Gemm", MathKernels::gemm);
        reduce(k, "ReduceMean", ReduceOp.MEAN, 18);
        reduce(k, "ReduceSum", ReduceOp.SUM, 13);
        reduce(k, "ReduceMax", ReduceOp.MAX, 18);
        reduce(k, "ReduceMin", ReduceOp.MIN, 18);
        reduce(k, "ReduceProd", ReduceOp.PROD, 18);
        k.put("Softmax", new SoftmaxKernel(false));
        k.put("LogSoftmax", new SoftmaxKernel(true));
        k.put("LayerNormalization", new OpKernel() {
            @Override
            public void validate(Node node, int opset) {
                if (node.outputs().size() > 1
                        && node.outputs().subList(1, node.outputs().size()).stream()
                                .anyMatch(o -> !o.isEmpty())) {
                    throw node.unsupported("the mean and inverse standard deviation outputs are not supported");
                }
            }

            @Override
            public Value[] run(Run run, Node node, Value[] in) {
                int rank = in[0].shape().rank();
                long axis = node.i("axis", -1);
                if (axis != -1 && axis != rank - 1) {
                    throw node.unsupported(
                            "normalisation over axes from " + axis + " (only the last axis is supported)");
                }
                float epsilon = node.f("epsilon", 1e-5f);
                DeviceArray scale = in.length > 1 && in[1] != null ? run.device(in[1]) : null;
                DeviceArray bias = in.length > 2 && in[2] != null ? run.device(in[2]) : null;
                return one(new Value.Device(run.s.layerNorm(run.device(in[0]), scale, bias, epsilon)));
            }
        });
    }

    /** Gemm: {@code alpha op(A) op(B) + beta C}. */
    private static Value[] gemm(Run run, Node node, Value[] in) {
        DeviceArray a = run.device(in[0]);
        DeviceArray b = run.device(in[1]);
        if (node.i("transA", 0) != 0) {
            a = run.s.transpose(a);
        }
        if (node.i("transB", 0) != 0) {
            b = run.s.transpose(b);
        }
        DeviceArray y = run.s.matmul(a, b);
        float alpha = node.f("alpha", 1f);
        if (alpha != 1f) {
            y = run.s.mul(y, alpha);
        }
        if (in.length > 2 && in[2] != null) {
            float beta = node.f("beta", 1f);
            DeviceArray c = run.device(in[2]);
            y = run.s.add(y, beta == 1f ? c : run.s.mul(c, beta));
        }
        return one(new Value.Device(y));
    }

    /** Reductions: axes as an attribute before {@code axesInputFrom}, as an optional input since. */
    private static void reduce(Map<String, OpKernel> k, String name, ReduceOp op, int axesInputFrom) {
        k.put(name, (run, node, in) -> {
            int[] axes;
            if (run.opset() >= axesInputFrom) {
                axes = in.length > 1 && in[1] != null ? ShapeKernels.ints(Run.host(in[1]), node, "axes") : null;
            } else {
                long[] a = node.ints("axes");
                axes = a == null
                        ? null
                        : Arrays.stream(a).mapToInt(Math::toIntExact).toArray();
            }
            boolean keep = node.i("keepdims", 1) != 0;
            if (axes != null && axes.length == 0) {
                axes = null;
            }
            if (axes == null && node.i("noop_with_empty_axes", 0) != 0) {
                return one(in[0]);
            }
            if (allHost(in[0])) {
                return one(new Value.Host(ReferenceKernels.reduce(op, Run.host(in[0]), axes, keep)));
            }
            DeviceArray x = run.device(in[0]);
            int[] all = axes;
            if (all == null) {
                all = new int[x.shape().rank()];
                for (int i = 0; i < all.length; i++) {
                    all[i] = i;
                }
            }
            return one(new Value.Device(run.s.reduce(op, x, all, keep)));
        });
    }

    /** Softmax over one axis (opset 13 and later; earlier opsets flatten from the axis, which this reproduces). */
    private record SoftmaxKernel(boolean log) implements OpKernel {
        @Override
        public Value[] run(Run run, Node node, Value[] in) {
            DeviceArray x = run.device(in[0]);
            int rank = x.shape().rank();
            int opset = run.opset();
            int axis = (int) node.i("axis", opset >= 13 ? -1 : 1);
            int a = axis < 0 ? axis + rank : axis;
            if (opset >= 13 || a == rank - 1) {
                return one(new Value.Device(log ? run.s.logSoftmax(x, a) : run.s.softmax(x, a)));
            }
            // Before opset 13: over everything from the axis on, as one flattened axis.
            int[] dims = x.shape().dims();
            int outer = 1;
            for (int i = 0; i < a; i++) {
                outer *= dims[i];
            }
            DeviceArray flat = run.s.reshape(x, outer, -1);
            DeviceArray y = log ? run.s.logSoftmax(flat, 1) : run.s.softmax(flat, 1);
            return one(new Value.Device(run.s.reshape(y, dims)));
        }
    }
}
