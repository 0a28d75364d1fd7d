package org.backplane.onnx.internal;

import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.backplane.api.DType;
import org.backplane.onnx.internal.proto.Onnx.AttributeProto;
import org.backplane.onnx.internal.proto.Onnx.GraphProto;
import org.backplane.onnx.internal.proto.Onnx.ModelProto;
import org.backplane.onnx.internal.proto.Onnx.NodeProto;
import org.backplane.onnx.internal.proto.Onnx.OperatorSetIdProto;
import org.backplane.onnx.internal.proto.Onnx.TensorProto;
import org.backplane.onnx.internal.proto.Onnx.ValueInfoProto;

/**
 * A model's graph as read from its file: the nodes in order (ONNX files list them topologically;
 * checked), the stored tensors ({@code Constant} nodes become stored tensors), the graph's inputs and
 * outputs. Every node's op is checked at load: an op or attribute Backplane does not support fails
 * here, naming the node.
 */
public final class Graph {
    /** An input the caller gives: its name, type and dimensions (-1 where the model leaves one open). */
    public record Input(String name, DType dtype, List<Long> dims) {}

    final String name;
    final int opset;
    final List<Node> nodes;
    final Map<String, TensorData> tensors;
    final List<Input> inputs;
    final List<String> outputs;
    final Arena arena;
    /** For each node, the values it is the last to read (not stored tensors, inputs or outputs): freed after it. */
    final List<List<String>> lastUses;

    private Graph(
            String name,
            int opset,
            List<Node> nodes,
            Map<String, TensorData> tensors,
            List<Input> inputs,
            List<String> outputs,
            Arena arena) {
        this.name = name;
        this.opset = opset;
        this.nodes = nodes;
        this.tensors = tensors;
        this.inputs = inputs;
        this.outputs = outputs;
        this.arena = arena;
        this.lastUses = lastUses(nodes, tensors.keySet(), inputs, outputs);
    }

    private static List<List<String>> lastUses(
            List<Node> nodes, Set<String> stored, List<Input> inputs, List<String> outputs) {
        Map<String, Integer> last = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String in : nodes.get(i).inputs()) {
                if (!in.isEmpty()) {
                    last.put(in, i);
                }
            }
        }
        Set<String> kept = new HashSet<>(stored);
        kept.addAll(outputs);
        inputs.forEach(in -> kept.add(in.name()));
        List<List<String>> uses = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            uses.add(new ArrayList<>());
        }
        last.forEach((name, i) -> {
            if (!kept.contains(name)) {
                uses.get(i).add(name);
            }
        });
        return uses;
    }

    @SuppressWarnings("MustBeClosedChecker") // the arena lives as long as the graph: Executor.close closes it
    public static Graph read(InputStream in, String source) throws IOException {
        CodedInputStream coded = CodedInputStream.newInstance(in);
        coded.setSizeLimit(Integer.MAX_VALUE); // models are larger than protobuf's 64 MiB default
        ModelProto model;
        try {
            model = ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new ModelRejection(source + " is not an ONNX model: " + e.getMessage(), e);
        }
        if (!model.hasGraph()) {
            throw new ModelRejection(source + " has no graph");
        }
        int opset = 0;
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            String domain = o.getDomain();
            if (domain.isEmpty() || domain.equals("ai.onnx")) {
                opset = (int) o.getVersion();
            }
        }
        if (opset == 0) {
            throw new ModelRejection(source + " imports no version of the default ONNX op set");
        }
        GraphProto g = model.getGraph();
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            for (TensorProto t : g.getInitializerList()) {
                tensors.put(t.getName(), TensorData.of(t, arena, source));
            }
            List<Node> nodes = new ArrayList<>();
            Set<String> known = new HashSet<>(tensors.keySet());
            List<Input> inputs = new ArrayList<>();
            for (ValueInfoProto v : g.getInputList()) {
                if (!tensors.containsKey(v.getName())) {
                    inputs.add(input(v, source));
                    known.add(v.getName());
                }
            }
            for (NodeProto p : g.getNodeList()) {
                Node node = node(p);
                String domain = p.getDomain();
                if (!domain.isEmpty() && !domain.equals("ai.onnx")) {
                    throw node.unsupported("ops of the domain '" + domain + "' are not supported");
                }
                for (int i = 0; i < node.inputs().size(); i++) {
                    String input = node.inputs().get(i);
                    if (!input.isEmpty() && !known.contains(input)) {
                        throw node.unsupported("input '" + input + "' is produced by no earlier node");
                    }
                }
                if (node.opType().startsWith("Backplane.")) {
                    throw node.unsupported("the op " + node.opType() + " is not an ONNX op");
                }
                if (node.opType().equals("Constant")) {
                    tensors.put(node.outputs().getFirst(), constant(node, arena));
                } else {
                    OpKernel kernel = Kernels.of(node.opType());
                    if (kernel == null) {
                        throw node.unsupported("the op " + node.opType() + " is not supported (supported: "
                                + String.join(", ", Kernels.supported()) + ", Constant)");
                    }
                    kernel.validate(node, opset);
                    nodes.add(node);
                }
                known.addAll(node.outputs());
            }
            List<String> outputs = new ArrayList<>();
            for (ValueInfoProto v : g.getOutputList()) {
                if (!known.contains(v.getName())) {
                    throw new ModelRejection(source + ": output '" + v.getName() + "' is produced by no node");
                }
                outputs.add(v.getName());
            }
            nodes = Fusions.apply(nodes, tensors, outputs);
            return new Graph(source.isBlank() ? g.getName() : source, opset, nodes, tensors, inputs, outputs, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Node node(NodeProto p) {
        Map<String, AttributeProto> attributes = new LinkedHashMap<>();
        for (AttributeProto a : p.getAttributeList()) {
            attributes.put(a.getName(), a);
        }
        return new Node(
                p.getName(), p.getOpType(), List.copyOf(p.getInputList()), List.copyOf(p.getOutputList()), attributes);
    }

    private static Input input(ValueInfoProto v, String source) {
        if (!v.hasType() || !v.getType().hasTensorType()) {
            throw new ModelRejection(source + ": input '" + v.getName() + "' is not a tensor");
        }
        var t = v.getType().getTensorType();
        DType dtype = TensorData.dtype(t.getElemType(), source + " input '" + v.getName() + "'");
        List<Long> dims = new ArrayList<>();
        for (var d : t.getShape().getDimList()) {
            dims.add(d.hasDimValue() ? d.getDimValue() : -1L);
        }
        return new Input(v.getName(), dtype, dims);
    }

    private static TensorData constant(Node node, Arena arena) {
        AttributeProto value = node.attribute("value");
        if (value != null && value.hasT()) {
            TensorProto t =
                    value.getT().toBuilder().setName(node.outputs().getFirst()).build();
            return TensorData.of(t, arena, node.describe());
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(node.outputs().getFirst());
        if (node.has("value_float")) {
            t.setDataType(1).addFloatData(node.f("value_float", 0));
        } else if (node.has("value_int")) {
            t.setDataType(7).addInt64Data(node.i("value_int", 0));
        } else if (node.has("value_floats")) {
            List<Float> f = node.attribute("value_floats").getFloatsList();
            t.setDataType(1).addDims(f.size()).addAllFloatData(f);
        } else if (node.has("value_ints")) {
            List<Long> v = node.attribute("value_ints").getIntsList();
            t.setDataType(7).addDims(v.size()).addAllInt64Data(v);
        } else {
            throw node.unsupported("a Constant without a tensor, float or int value");
        }
        return TensorData.of(t.build(), arena, node.describe());
    }

    public String name() {
        return name;
    }

    public int opset() {
        return opset;
    }

    public List<Input> inputs() {
        return inputs;
    }

    public List<String> outputs() {
        return outputs;
    }

    /** Elements of the stored tensors. */
    public long parameters() {
        return tensors.values().stream().mapToLong(t -> t.shape().size()).sum();
    }

    /** How many nodes use each op, for reports. */
    public Map<String, Integer> opCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : nodes) {
            counts.merge(n.opType(), 1, Integer::sum);
        }
        return counts;
    }
}
