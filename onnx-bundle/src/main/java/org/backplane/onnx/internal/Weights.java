package org.backplane.onnx.internal;

import java.util.HashMap;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamState;

/**
 * A graph's stored tensors on one backend: uploaded once to a stream of their own (which runs no
 * ops, so nothing but a device loss can fail it) and read by every stream of that backend that runs
 * the graph (cross-stream inputs). Small integer tensors also stay on the host for shape folding.
 */
final class Weights {
    private static final System.Logger LOG = System.getLogger(Weights.class.getName());

    private final ComputeStream stream;
    private final Map<String, Value> values = new HashMap<>();

    Weights(Graph graph, ExecutionBackend backend) {
        this.stream = backend.openStream("onnx-weights " + graph.name());
        try {
            for (TensorData t : graph.tensors.values()) {
                if (t.hostSide()) {
                    values.put(t.name(), new Value.Host(t.toTensor()));
                } else {
                    DeviceArray a =
                            stream.upload(t.bytes(), t.dtype(), t.shape().dims());
                    values.put(t.name(), new Value.Device(a));
                }
            }
        } catch (RuntimeException e) {
            try {
                stream.close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing); // the stream's own failure, if the upload was one
            }
            throw e;
        }
    }

    /** Whether the weights can still be read: their stream is active (a device loss fails it; reset makes them stale). */
    boolean usable(ExecutionBackend backend) {
        return stream.backend() == backend && stream.snapshot().state() == StreamState.ACTIVE;
    }

    Map<String, Value> values() {
        return values;
    }

    /**
     * Closes the weights' stream. A failure of it that nobody saw (a device loss while no run used
     * these weights) is logged here: the weights are replaced, and there is no caller to tell.
     */
    void close() {
        try {
            stream.close();
        } catch (StreamFailedException e) {
            LOG.log(
                    System.Logger.Level.INFO,
                    () -> "the weights' stream had failed (" + e.error().describe() + "); they are uploaded again");
        }
    }
}
