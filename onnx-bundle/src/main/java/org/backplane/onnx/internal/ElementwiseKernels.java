package org.backplane.onnx.internal;

import static org.backplane.onnx.internal.OpKernel.allHost;
import static org.backplane.onnx.internal.OpKernel.one;

import java.util.Map;
import org.backplane.api.BinaryOp;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.UnaryOp;
import org.backplane.cpu.reference.ReferenceKernels;
import org.backplane.cpu.reference.Tensor;

/**
 * ONNX's elementwise ops. ONNX gives both operands one type, so Backplane's promotion never applies;
 * a one-element host operand becomes a Java scalar of the op (no array built for it). ONNX's
 * integer {@code Div} truncates (Backplane's {@code div} is true division), so it is done apart.
 */
final class ElementwiseKernels {
    private ElementwiseKernels() {}

    static void register(Map<String, OpKernel> k) {
        unary(k, "Neg", UnaryOp.NEG);
        unary(k, "Abs", UnaryOp.ABS);
        unary(k, "Exp", UnaryOp.EXP);
        unary(k, "Log", UnaryOp.LOG);
        unary(k, "Sqrt", UnaryOp.SQRT);
        unary(k, "Tanh", UnaryOp.TANH);
        unary(k, "Sigmoid", UnaryOp.SIGMOID);
        unary(k, "Relu", UnaryOp.RELU);
        unary(k, "Erf", UnaryOp.ERF);
        unary(k, "Reciprocal", UnaryOp.RECIPROCAL);
        unary(k, "Sin", UnaryOp.SIN);
        unary(k, "Cos", UnaryOp.COS);
        unary(k, "Floor", UnaryOp.FLOOR);
        unary(k, "Not", UnaryOp.LOGICAL_NOT);
        binary(k, "Add", BinaryOp.ADD);
        binary(k, "Sub", BinaryOp.SUB);
        binary(k, "Mul", BinaryOp.MUL);
        binary(k, "Pow", BinaryOp.POW);
        binary(k, "Equal", BinaryOp.EQUAL);
        binary(k, "Less", BinaryOp.LESS);
        binary(k, "LessOrEqual", BinaryOp.LESS_EQUAL);
        binary(k, "Greater", BinaryOp.GREATER);
        binary(k, "GreaterOrEqual", BinaryOp.GREATER_EQUAL);
        binary(k, "And", BinaryOp.LOGICAL_AND);
        binary(k, "Or", BinaryOp.LOGICAL_OR);
        variadic(k, "Max", BinaryOp.MAXIMUM);
        variadic(k, "Min", BinaryOp.MINIMUM);
        variadic(k, "Sum", BinaryOp.ADD);
        k.put("Div", ElementwiseKernels::div);
        k.put(
                "Where",
                (run, node, in) -> allHost(in)
                        ? one(new Value.Host(ReferenceKernels.where(Run.host(in[0]), Run.host(in[1]), Run.host(in[2]))))
                        : one(new Value.Device(run.s.where(run.device(in[0]), run.device(in[1]), run.device(in[2])))));
        k.put("Cast", new OpKernel() {
            @Override
            public void validate(Node node, int opset) {
                TensorData.dtype((int) node.i("to", 0), node.describe());
            }

            @Override
            public Value[] run(Run run, Node node, Value[] in) {
                DType to = TensorData.dtype((int) node.i("to", 0), node.describe());
                return allHost(in)
                        ? one(new Value.Host(ReferenceKernels.cast(Run.host(in[0]), to)))
                        : one(new Value.Device(run.s.astype(run.device(in[0]), to)));
            }
        });
    }

    private static void unary(Map<String, OpKernel> k, String name, UnaryOp op) {
        k.put(
                name,
                (run, node, in) -> allHost(in)
                        ? one(new Value.Host(ReferenceKernels.unary(op, Run.host(in[0]))))
                        : one(new Value.Device(run.s.unary(op, run.device(in[0])))));
    }

    private static void binary(Map<String, OpKernel> k, String name, BinaryOp op) {
        k.put(name, (run, node, in) -> one(binary(run, op, in[0], in[1])));
    }

    private static void variadic(Map<String, OpKernel> k, String name, BinaryOp op) {
        k.put(name, (run, node, in) -> {
            Value acc = in[0];
            for (int i = 1; i < in.length; i++) {
                acc = binary(run, op, acc, in[i]);
            }
            return one(acc);
        });
    }

    static Value binary(Run run, BinaryOp op, Value a, Value b) {
        if (allHost(a, b)) {
            Tensor r = ReferenceKernels.binary(op, Run.host(a), Run.host(b));
            return new Value.Host(r);
        }
        if (b instanceof Value.Host h
                && h.tensor().size() == 1
                && h.shape().rank() <= a.shape().rank()) {
            return new Value.Device(scalar(run, op, run.device(a), h.tensor(), false));
        }
        if (a instanceof Value.Host h
                && h.tensor().size() == 1
                && h.shape().rank() <= b.shape().rank()) {
            return new Value.Device(scalar(run, op, run.device(b), h.tensor(), true));
        }
        return new Value.Device(run.s.binary(op, run.device(a), run.device(b)));
    }

    private static DeviceArray scalar(Run run, BinaryOp op, DeviceArray x, Tensor scalar, boolean first) {
        double v = scalar.data()[0];
        if (scalar.dtype().isFloatingPoint()) {
            return first ? run.s.binary(op, v, x) : run.s.binary(op, x, v);
        }
        return first ? run.s.binary(op, (long) v, x) : run.s.binary(op, x, (long) v);
    }

    /** ONNX Div: true division of floating types, truncating division of integers. */
    private static Value[] div(Run run, Node node, Value[] in) {
        Value a = in[0];
        Value b = in[1];
        if (a.dtype().isFloatingPoint()) {
            return one(binary(run, BinaryOp.DIV, a, b));
        }
        if (allHost(a, b)) {
            Tensor x = Run.host(a);
            Tensor y = Run.host(b);
            Tensor wide = ReferenceKernels.binary(BinaryOp.DIV, x, y); // float32 by Backplane's rule: only the shape
            Tensor xs = ReferenceKernels.broadcastTo(x, wide.shape().dims());
            Tensor ys = ReferenceKernels.broadcastTo(y, wide.shape().dims());
            double[] q = new double[xs.data().length];
            for (int i = 0; i < q.length; i++) {
                long d = (long) ys.data()[i];
                if (d == 0) {
                    throw new IllegalArgumentException("integer division by zero");
                }
                long quotient = (long) xs.data()[i] / d; // truncates toward zero, as ONNX asks
                q[i] = quotient;
            }
            return one(new Value.Host(Tensor.of(a.dtype(), wide.shape(), q)));
        }
        // On the device: in float32 and truncated back (exact while |values| < 2^24).
        DeviceArray q = run.s.div(run.device(a), run.device(b));
        return one(new Value.Device(run.s.astype(q, a.dtype())));
    }
}
