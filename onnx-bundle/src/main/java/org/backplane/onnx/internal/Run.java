package org.backplane.onnx.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.cpu.reference.Tensor;

/**
 * One execution of a graph on a stream: the values by name, and the moves between host and device
 * that mixed inputs need (a host constant used by a device op is uploaded to the run's stream once).
 */
final class Run {
    final ComputeStream s;
    private final int opset;
    private final Map<String, Value> values = new HashMap<>();
    private final Map<Tensor, DeviceArray> uploaded = new HashMap<>();

    Run(ComputeStream s, int opset) {
        this.s = s;
        this.opset = opset;
    }

    /** The model's version of the default ONNX op set. */
    int opset() {
        return opset;
    }

    void put(String name, Value v) {
        values.put(name, v);
    }

    Value get(String name) {
        return values.get(name);
    }

    /**
     * The value is used no more: forgotten, and its array closed unless another live name holds
     * the same array (an {@code Identity}) — a view keeps its storage alive by itself. Arrays the
     * run did not make (weights, the caller's inputs) are never passed here.
     */
    void release(String name) {
        Value v = values.remove(name);
        if (v instanceof Value.Device d) {
            DeviceArray a = d.array();
            for (Value other : values.values()) {
                if (other instanceof Value.Device o && o.array() == a) {
                    return;
                }
            }
            a.close();
        }
    }

    /** The value as an array of this run's stream. */
    DeviceArray device(Value v) {
        return switch (v) {
            case Value.Device d -> d.array();
            case Value.Host h -> uploaded.computeIfAbsent(h.tensor(), this::upload);
        };
    }

    private DeviceArray upload(Tensor t) {
        MemorySegment bytes = t.toSegment();
        return s.upload(bytes, t.dtype(), t.shape().dims());
    }

    /** The value on the host (a device value is read back: only shape computations ask, rarely). */
    static Tensor host(Value v) {
        return switch (v) {
            case Value.Host h -> h.tensor();
            case Value.Device d -> {
                try (Arena arena = Arena.ofConfined()) {
                    long bytes = d.array().size() * d.array().dtype().byteSize();
                    MemorySegment m = arena.allocate(Math.max(1, bytes), 8).asSlice(0, bytes);
                    d.array().download(m);
                    yield Tensor.of(m, d.array().dtype(), d.array().shape());
                }
            }
        };
    }
}
