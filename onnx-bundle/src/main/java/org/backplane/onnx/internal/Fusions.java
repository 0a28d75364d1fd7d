package org.backplane.onnx.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.backplane.cpu.reference.Tensor;
import org.backplane.onnx.internal.proto.Onnx.AttributeProto;

/**
 * Rewrites, at load, the op sequences exporters emit for what Backplane has as one fused op: layer
 * normalisation (ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β), the exact GELU
 * (Div √2, Erf, Add 1, Mul x, Mul ½) and attention (MatMul, Div or Mul by a constant, Add mask,
 * Softmax, MatMul). A sequence is fused only when its intermediate values have no other consumer
 * and its constants have the expected values; otherwise the nodes run as they are (same results,
 * more ops). Fusing means fewer kernel launches and no intermediate arrays, which is most of a
 * small model's time on a GPU.
 */
final class Fusions {
    static final String LAYER_NORM = "Backplane.LayerNorm";
    static final String GELU = "Backplane.Gelu";
    static final String ATTENTION = "Backplane.Attention";

    private final List<Node> nodes;
    private final Map<String, TensorData> tensors;
    private final Map<String, Integer> uses = new HashMap<>();
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();

    private Fusions(List<Node> nodes, Map<String, TensorData> tensors, List<String> outputs) {
        this.nodes = nodes;
        this.tensors = tensors;
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty()) {
                    uses.merge(in, 1, Integer::sum);
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
            for (String out : n.outputs()) {
                producer.put(out, n);
            }
        }
        for (String out : outputs) {
            uses.merge(out, 1, Integer::sum); // a graph output is never an intermediate
        }
    }

    /** The nodes with every fusable sequence replaced by its fused node (at the sequence's last position). */
    static List<Node> apply(List<Node> nodes, Map<String, TensorData> tensors, List<String> outputs) {
        return new Fusions(nodes, tensors, outputs).run();
    }

    /** Counts of fused nodes, for reports. */
    static Map<String, Integer> counts(List<Node> nodes) {
        Map<String, Integer> c = new HashMap<>();
        for (Node n : nodes) {
            if (n.opType().startsWith("Backplane.")) {
                c.merge(n.opType(), 1, Integer::sum);
            }
        }
        return c;
    }

    private List<Node> run() {
        Set<Node> removed = new HashSet<>();
        Map<Node, Node> replacement = new HashMap<>();
        for (Node n : nodes) {
            if (removed.contains(n)) {
                continue;
            }
            List<Node> matched = new ArrayList<>();
            Node fused = switch (n.opType()) {
                case "ReduceMean" -> layerNorm(n, matched);
                case "Div", "Mul" -> gelu(n, matched);
                case "MatMul" -> attention(n, matched);
                default -> null;
            };
            if (fused != null) {
                removed.addAll(matched);
                replacement.put(matched.getLast(), fused);
            }
        }
        List<Node> out = new ArrayList<>();
        for (Node n : nodes) {
            Node r = replacement.get(n);
            if (r != null) {
                out.add(r);
            } else if (!removed.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- matching helpers

    /** The one consumer of {@code value}, if it has exactly one and it is of type {@code op}. */
    private Node only(String value, String op) {
        if (uses.getOrDefault(value, 0) != 1) {
            return null;
        }
        List<Node> c = consumers.get(value);
        return c != null && c.size() == 1 && c.getFirst().opType().equals(op) ? c.getFirst() : null;
    }

    private static String out(Node n) {
        return n.outputs().getFirst();
    }

    /** The other input of a two-input node, given one of them. */
    private static String other(Node n, String one) {
        if (n.inputs().size() != 2) {
            return null;
        }
        return n.inputs().get(0).equals(one)
                ? n.inputs().get(1)
                : n.inputs().get(1).equals(one) ? n.inputs().get(0) : null;
    }

    /** A stored scalar's value, or NaN. */
    private double constant(String name) {
        TensorData t = name == null ? null : tensors.get(name);
        if (t == null || t.shape().size() != 1) {
            return Double.NaN;
        }
        Tensor v = t.toTensor();
        return v.data()[0];
    }

    private static boolean lastAxis(Node reduce) {
        long[] axes = reduce.ints("axes");
        return reduce.inputs().size() == 1
                && axes != null
                && axes.length == 1
                && axes[0] == -1
                && reduce.i("keepdims", 1) == 1;
    }

    private static Node fused(String op, List<String> inputs, String output, Map<String, AttributeProto> attributes) {
        return new Node(op + " (fused)", op, inputs, List.of(output), attributes);
    }

    private static AttributeProto floatAttribute(String name, float value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setF(value)
                .setType(AttributeProto.AttributeType.FLOAT)
                .build();
    }

    // ---------------------------------------------------------------- the sequences

    private Node layerNorm(Node mean, List<Node> m) {
        if (!lastAxis(mean)) {
            return null;
        }
        String x = mean.inputs().getFirst();
        Node sub = only(out(mean), "Sub");
        if (sub == null || !sub.inputs().equals(List.of(x, out(mean)))) {
            return null;
        }
        List<Node> subUsers = consumers.getOrDefault(out(sub), List.of());
        if (uses.getOrDefault(out(sub), 0) != 2 || subUsers.size() != 2) {
            return null;
        }
        Node pow = subUsers.stream()
                .filter(n -> n.opType().equals("Pow"))
                .findFirst()
                .orElse(null);
        Node div = subUsers.stream()
                .filter(n -> n.opType().equals("Div"))
                .findFirst()
                .orElse(null);
        if (pow == null
                || div == null
                || constant(other(pow, out(sub))) != 2
                || !pow.inputs().getFirst().equals(out(sub))) {
            return null;
        }
        Node variance = only(out(pow), "ReduceMean");
        if (variance == null || !lastAxis(variance)) {
            return null;
        }
        Node addEps = only(out(variance), "Add");
        double eps = addEps == null ? Double.NaN : constant(other(addEps, out(variance)));
        Node sqrt = addEps == null ? null : only(out(addEps), "Sqrt");
        if (!(eps >= 0)
                || sqrt == null
                || !div.inputs().equals(List.of(out(sub), out(sqrt)))
                || uses.getOrDefault(out(sqrt), 0) != 1) {
            return null;
        }
        Node mul = only(out(div), "Mul");
        String gamma = mul == null ? null : other(mul, out(div));
        Node add = mul == null ? null : only(out(mul), "Add");
        String beta = add == null ? null : other(add, out(mul));
        if (gamma == null || beta == null || !tensors.containsKey(gamma) || !tensors.containsKey(beta)) {
            return null;
        }
        m.addAll(List.of(mean, sub, pow, variance, addEps, sqrt, div, mul, add));
        return fused(LAYER_NORM, List.of(x, gamma, beta), out(add), Map.of("epsilon", floatAttribute("epsilon", (float)
                eps)));
    }

    private Node gelu(Node div, List<Node> m) {
        String x = div.inputs().getFirst();
        double c = constant(div.inputs().size() == 2 ? div.inputs().get(1) : null);
        boolean scaled =
                div.opType().equals("Div") ? Math.abs(c - Math.sqrt(2)) < 1e-6 : Math.abs(c - Math.sqrt(0.5)) < 1e-6;
        if (!scaled) {
            return null;
        }
        Node erf = only(out(div), "Erf");
        Node plus = erf == null ? null : only(out(erf), "Add");
        if (plus == null || constant(other(plus, out(erf))) != 1) {
            return null;
        }
        Node times = only(out(plus), "Mul");
        if (times == null || !x.equals(other(times, out(plus)))) {
            return null;
        }
        Node half = only(out(times), "Mul");
        if (half == null || constant(other(half, out(times))) != 0.5) {
            return null;
        }
        m.addAll(List.of(div, erf, plus, times, half));
        return fused(GELU, List.of(x), out(half), Map.of());
    }

    private Node attention(Node scores, List<Node> m) {
        Node scale = only(out(scores), "Div");
        boolean divide = scale != null;
        if (scale == null) {
            scale = only(out(scores), "Mul");
        }
        double c = scale == null ? Double.NaN : constant(other(scale, out(scores)));
        if (!(c > 0) || !scale.inputs().getFirst().equals(out(scores))) {
            return null;
        }
        Node add = only(out(scale), "Add");
        String mask = add == null ? null : other(add, out(scale));
        String logits = add == null ? out(scale) : out(add);
        Node softmax = only(logits, "Softmax");
        if (softmax == null) {
            return null;
        }
        Node product = only(out(softmax), "MatMul");
        if (product == null || !product.inputs().getFirst().equals(out(softmax))) {
            return null;
        }
        m.add(scores);
        m.add(scale);
        if (add != null) {
            m.add(add);
        }
        m.add(softmax);
        m.add(product);
        List<String> inputs = new ArrayList<>(List.of(
                scores.inputs().get(0), scores.inputs().get(1), product.inputs().get(1)));
        if (mask != null) {
            inputs.add(mask);
        }
        float factor = (float) (divide ? 1 / c : c);
        Map<String, AttributeProto> attributes = new HashMap<>();
        attributes.put("scale", floatAttribute("scale", factor));
        attributes.put(
                "softmax_axis",
                AttributeProto.newBuilder()
                        .setName("softmax_axis")
                        .setI(softmax.i("axis", -1))
                        .setType(AttributeProto.AttributeType.INT)
                        .build());
        return fused(ATTENTION, inputs, out(product), attributes);
    }
}
