package org.backplane.onnx.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;

/**
 * Runs a graph on streams of any backend: the stored tensors are uploaded once per backend (again
 * after the backend changed or lost its device), then each run queues the graph's device ops on the
 * caller's stream in node order, shape computations folded on the host as it goes.
 */
public final class Executor {
    private final Graph graph;
    private final Map<ExecutionBackend, Weights> weights = new HashMap<>();

    public Executor(Graph graph) {
        this.graph = graph;
    }

    public Graph graph() {
        return graph;
    }

    /** Uploads the weights for {@code backend} now (else the first run does). */
    public void prepare(ExecutionBackend backend) {
        weightsFor(backend);
    }

    private synchronized Weights weightsFor(ExecutionBackend backend) {
        Weights w = weights.get(backend);
        if (w != null && w.usable(backend)) {
            return w;
        }
        if (w != null) {
            w.close();
        }
        weights.keySet().removeIf(b -> b.state() != org.backplane.api.BackendState.RUNNING);
        w = new Weights(graph, backend);
        weights.put(backend, w);
        return w;
    }

    /** The graph's outputs for {@code inputs} (arrays of {@code s}), queued on {@code s}. */
    public Map<String, DeviceArray> run(ComputeStream s, Map<String, DeviceArray> inputs) {
        Run run = new Run(s, graph.opset);
        for (Map.Entry<String, Value> e : weightsFor(s.backend()).values().entrySet()) {
            run.put(e.getKey(), e.getValue());
        }
        for (Graph.Input in : graph.inputs) {
            DeviceArray a = inputs.get(in.name());
            if (a == null) {
                throw new IllegalArgumentException(
                        "input '" + in.name() + "' of " + graph.name + " is missing (inputs: "
                                + graph.inputs.stream().map(Graph.Input::name).toList() + ")");
            }
            check(in, a);
            run.put(in.name(), new Value.Device(a));
        }
        for (int index = 0; index < graph.nodes.size(); index++) {
            Node node = graph.nodes.get(index);
            Value[] in = new Value[node.inputs().size()];
            for (int i = 0; i < in.length; i++) {
                String name = node.inputs().get(i);
                in[i] = name.isEmpty() ? null : run.get(name);
            }
            Value[] out;
            try {
                out = Kernels.of(node.opType()).run(run, node, in);
            } catch (IllegalArgumentException e) {
                if (e instanceof ModelRejection) {
                    throw e;
                }
                throw new IllegalArgumentException(node.describe() + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < out.length && i < node.outputs().size(); i++) {
                run.put(node.outputs().get(i), out[i]);
            }
            for (String dead : graph.lastUses.get(index)) {
                run.release(dead);
            }
        }
        Map<String, DeviceArray> result = new LinkedHashMap<>();
        for (String name : graph.outputs) {
            result.put(name, run.device(run.get(name)));
        }
        return result;
    }

    private void check(Graph.Input in, DeviceArray a) {
        boolean ok = a.dtype() == in.dtype() && a.shape().rank() == in.dims().size();
        for (int i = 0; ok && i < in.dims().size(); i++) {
            ok = in.dims().get(i) < 0 || in.dims().get(i) == a.shape().dim(i);
        }
        if (!ok) {
            List<String> dims = new ArrayList<>();
            for (long d : in.dims()) {
                dims.add(d < 0 ? "?" : Long.toString(d));
            }
            throw new IllegalArgumentException("input '" + in.name() + "' of " + graph.name + " must be "
                    + in.dtype().id() + " " + dims + ", not " + a.dtype().id() + " " + a.shape());
        }
    }

    /** Closes the weights' streams and frees the stored tensors' host memory. */
    public synchronized void close() {
        for (Weights w : weights.values()) {
            w.close();
        }
        weights.clear();
        graph.arena.close();
    }
}
