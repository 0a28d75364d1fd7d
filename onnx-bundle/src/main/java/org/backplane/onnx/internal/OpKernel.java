package org.backplane.onnx.internal;

/** How one ONNX op runs: on the host when its inputs are there (shape computations), else as Backplane ops. */
interface OpKernel {
    /** Checks the node's attributes at load: an unsupported form fails there, naming the node. */
    default void validate(Node node, int opset) {}

    /** The node's outputs for its inputs (an omitted optional input is null). */
    Value[] run(Run run, Node node, Value[] in);

    static Value[] one(Value v) {
        return new Value[] {v};
    }

    static boolean allHost(Value... values) {
        for (Value v : values) {
            if (v != null && !(v instanceof Value.Host)) {
                return false;
            }
        }
        return true;
    }
}
