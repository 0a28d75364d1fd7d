package org.backplane.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.onnx.internal.Executor;
import org.backplane.onnx.internal.Graph;
import org.backplane.onnx.internal.ModelRejection;

/**
 * An ONNX model ready to run on Backplane: read once (every node's op checked: an unsupported op fails
 * here, naming the node), its weights uploaded once per backend and shared by all of that backend's
 * streams, its graph run as Backplane ops on the caller's stream — so a fault in the middle of a
 * model is the stream's error like any other, and reset recovers it. Thread-safe: many streams may
 * run the model at once.
 */
public final class OnnxModel implements AutoCloseable {
    private final Executor executor;
    private final Duration readTime;

    private OnnxModel(Graph graph, Duration readTime) {
        this.executor = new Executor(graph);
        this.readTime = readTime;
    }

    /** Reads a model file. */
    public static OnnxModel load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return load(in, file.getFileName().toString());
        }
    }

    /** Reads a model from a stream ({@code source} names it in messages). */
    public static OnnxModel load(InputStream in, String source) throws IOException {
        long start = System.nanoTime();
        Graph graph;
        try {
            graph = Graph.read(in, source);
        } catch (ModelRejection e) {
            throw new UnsupportedModelException(e.getMessage(), e);
        }
        return new OnnxModel(graph, Duration.ofNanos(System.nanoTime() - start));
    }

    /** The name the model was loaded under (its file's name), which error messages use. */
    public String name() {
        return executor.graph().name();
    }

    /** The version of the default ONNX op set the model uses. */
    public int opset() {
        return executor.graph().opset();
    }

    /** The inputs a run takes, with their types and dimensions (-1 where the model leaves one open). */
    public List<Input> inputs() {
        return executor.graph().inputs().stream()
                .map(i -> new Input(i.name(), i.dtype(), i.dims()))
                .toList();
    }

    public List<String> outputs() {
        return executor.graph().outputs();
    }

    /** Elements of the model's stored tensors (weights and constants). */
    public long parameters() {
        return executor.graph().parameters();
    }

    /** How long reading and checking the file took. */
    public Duration readTime() {
        return readTime;
    }

    /** How many nodes use each op. */
    public Map<String, Integer> opCounts() {
        return executor.graph().opCounts();
    }

    /** Uploads the weights for {@code backend} now, instead of at the first run on it. */
    public void prepare(ExecutionBackend backend) {
        executor.prepare(backend);
    }

    /**
     * Queues the model on {@code s} and returns its outputs by name (not waited for). Inputs are
     * arrays of {@code s} of the types and shapes {@link #inputs()} states.
     *
     * @throws IllegalArgumentException for a missing or ill-shaped input, or an input shape the
     *     model's ops cannot take (naming the node)
     */
    public Map<String, DeviceArray> run(ComputeStream s, Map<String, DeviceArray> inputs) {
        try {
            return executor.run(s, inputs);
        } catch (ModelRejection e) {
            throw new UnsupportedModelException(e.getMessage(), e);
        }
    }

    /** Closes the weights' streams on every backend and frees the model's host memory. */
    @Override
    public void close() {
        executor.close();
    }

    /**
     * An input of the model.
     *
     * @param name its name in the graph
     * @param dtype its element type
     * @param dims its dimensions, -1 where the model leaves one open (batch, sequence length)
     */
    public record Input(String name, DType dtype, List<Long> dims) {
        public Input {
            dims = List.copyOf(dims);
        }
    }
}
