package org.backplane.onnx;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import org.backplane.onnx.internal.proto.Onnx.AttributeProto;
import org.backplane.onnx.internal.proto.Onnx.GraphProto;
import org.backplane.onnx.internal.proto.Onnx.ModelProto;
import org.backplane.onnx.internal.proto.Onnx.NodeProto;
import org.backplane.onnx.internal.proto.Onnx.OperatorSetIdProto;
import org.backplane.onnx.internal.proto.Onnx.TensorProto;
import org.backplane.onnx.internal.proto.Onnx.TensorShapeProto;
import org.backplane.onnx.internal.proto.Onnx.TypeProto;
import org.backplane.onnx.internal.proto.Onnx.ValueInfoProto;

/** Small ONNX models written in code, as an exporter would write them, for the tests. */
final class ModelBuilder {
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test-graph");
    private final int opset;

    ModelBuilder(int opset) {
        this.opset = opset;
    }

    /** A graph input; a dimension of -1 is symbolic. */
    ModelBuilder input(String name, int elemType, long... dims) {
        graph.addInput(value(name, elemType, dims));
        return this;
    }

    ModelBuilder output(String name) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name));
        return this;
    }

    ModelBuilder floats(String name, float[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        graph.addInitializer(t);
        return this;
    }

    ModelBuilder longs(String name, long[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE);
        for (long d : dims) {
            t.addDims(d);
        }
        for (long v : values) {
            t.addInt64Data(v);
        }
        graph.addInitializer(t);
        return this;
    }

    /** A node; {@code attributes} pairs names with Long, Float or long[] values. */
    ModelBuilder node(String op, String[] inputs, String output, Object... attributes) {
        NodeProto.Builder n =
                NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase(Locale.ROOT) + "_" + graph.getNodeCount());
        for (String in : inputs) {
            n.addInput(in);
        }
        n.addOutput(output);
        for (int i = 0; i < attributes.length; i += 2) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName((String) attributes[i]);
            switch (attributes[i + 1]) {
                case Long v -> a.setType(AttributeProto.AttributeType.INT).setI(v);
                case Float v -> a.setType(AttributeProto.AttributeType.FLOAT).setF(v);
                case long[] v -> {
                    a.setType(AttributeProto.AttributeType.INTS);
                    for (long x : v) {
                        a.addInts(x);
                    }
                }
                default -> throw new IllegalArgumentException("attribute " + attributes[i + 1]);
            }
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    byte[] bytes() {
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    OnnxModel load() {
        try {
            return OnnxModel.load(new ByteArrayInputStream(bytes()), "test.onnx");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ValueInfoProto value(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(
                    d < 0
                            ? TensorShapeProto.Dimension.newBuilder().setDimParam("n")
                            : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(elemType)
                                .setShape(shape)))
                .build();
    }
}
