package org.backplane.onnx.internal;

import java.util.List;
import java.util.Map;
import org.backplane.onnx.internal.proto.Onnx.AttributeProto;

/**
 * One node of a graph: its op, its input and output value names (an empty input name is an omitted
 * optional input) and its attributes, with typed accessors that fail naming the node.
 */
record Node(
        String name, String opType, List<String> inputs, List<String> outputs, Map<String, AttributeProto> attributes) {
    /** How the node is named in messages: {@code "Add node /encoder/layer.0/Add"}. */
    String describe() {
        return opType + " node " + (name.isEmpty() ? outputs : name);
    }

    ModelRejection unsupported(String why) {
        return new ModelRejection(describe() + ": " + why);
    }

    boolean has(String attribute) {
        return attributes.containsKey(attribute);
    }

    long i(String attribute, long fallback) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? fallback : a.getI();
    }

    float f(String attribute, float fallback) {
        AttributeProto a = attributes.get(attribute);
        return a == null ? fallback : a.getF();
    }

    long[] ints(String attribute) {
        AttributeProto a = attributes.get(attribute);
        return a == null
                ? null
                : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    AttributeProto attribute(String attribute) {
        return attributes.get(attribute);
    }

    /** Whether input {@code i} is given (optional inputs may be omitted or named ""). */
    boolean hasInput(int i) {
        return i < inputs.size() && !inputs.get(i).isEmpty();
    }
}
