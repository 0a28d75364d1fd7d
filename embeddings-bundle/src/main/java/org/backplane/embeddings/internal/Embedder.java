package org.backplane.embeddings.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ReduceOp;
import org.backplane.onnx.OnnxModel;

/**
 * The embedding pipeline for one batch on one stream: tokenize, pad to the batch's longest text,
 * run the encoder, mean-pool the token vectors over the attention mask, L2-normalise — the
 * sentence-transformers recipe of all-MiniLM-L6-v2 — and read the vectors back.
 */
public final class Embedder {
    private final OnnxModel model;
    private final WordPieceTokenizer tokenizer;
    private final int maxLength;
    /** The vectors' length, known from the first batch (the model's files need not state it). */
    private volatile int dimensions;

    public Embedder(OnnxModel model, WordPieceTokenizer tokenizer, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must leave room for [CLS] and [SEP], not " + maxLength);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    public OnnxModel model() {
        return model;
    }

    /** The vectors' length, 0 until a batch has been embedded. */
    public int dimensions() {
        return dimensions;
    }

    /** The texts' token ids ([CLS] ... [SEP], truncated to the maximum length). */
    public int[][] tokenize(List<String> texts) {
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) {
            String text = texts.get(i);
            if (text == null) {
                throw new IllegalArgumentException("text " + i + " of " + ids.length + " is null");
            }
            ids[i] = tokenizer.encode(text, maxLength);
        }
        return ids;
    }

    /** Unit vectors of the texts, computed on {@code s} and waited for. */
    public List<float[]> embed(ComputeStream s, List<String> texts) {
        return embedTokens(s, tokenize(texts));
    }

    /** Unit vectors of already tokenized texts, padded to their longest, on {@code s}. */
    public List<float[]> embedTokens(ComputeStream s, int[][] ids) {
        int batch = ids.length;
        if (batch == 0) {
            return List.of();
        }
        int seq = 0;
        for (int[] t : ids) {
            seq = Math.max(seq, t.length);
        }
        return embedPadded(s, ids, seq);
    }

    /** Like {@link #embedTokens}, padded to {@code seq} tokens (benchmarks pad to a fixed length). */
    public List<float[]> embedPadded(ComputeStream s, int[][] ids, int seq) {
        int batch = ids.length;
        long[] tokens = new long[batch * seq];
        long[] mask = new long[batch * seq];
        Arrays.fill(tokens, tokenizer.padId());
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ids[b].length && t < seq; t++) {
                tokens[b * seq + t] = ids[b][t];
                mask[b * seq + t] = 1;
            }
        }
        // Every array of the batch is closed when its vectors are read (or the batch failed), so a
        // worker stream holds no memory between batches.
        List<DeviceArray> made = new ArrayList<>();
        try {
            DeviceArray maskArray = keep(made, s.upload(mask, batch, seq));
            Map<String, DeviceArray> inputs = new LinkedHashMap<>();
            for (OnnxModel.Input in : model.inputs()) {
                inputs.put(
                        in.name(),
                        switch (in.name()) {
                            case "input_ids" -> keep(made, s.upload(tokens, batch, seq));
                            case "attention_mask" -> maskArray;
                            case "token_type_ids" -> keep(made, s.upload(new long[batch * seq], batch, seq));
                            default ->
                                throw new IllegalStateException("the model asks for an input '" + in.name()
                                        + "' that a sentence encoder does not have");
                        });
            }
            DeviceArray hidden = null; // [batch, seq, dimensions]
            for (DeviceArray out : model.run(s, inputs).values()) {
                hidden = hidden == null ? out : hidden;
                keep(made, out);
            }
            DeviceArray weights = keep(made, s.expandDims(keep(made, s.astype(maskArray, DType.FLOAT32)), -1));
            DeviceArray summed =
                    keep(made, s.reduce(ReduceOp.SUM, keep(made, s.mul(hidden, weights)), new int[] {1}, false));
            DeviceArray counts =
                    keep(made, s.maximum(keep(made, s.reduce(ReduceOp.SUM, weights, new int[] {1}, false)), 1e-9));
            DeviceArray mean = keep(made, s.div(summed, counts));
            DeviceArray squares = keep(made, s.mul(mean, mean));
            DeviceArray norm = keep(made, s.sqrt(keep(made, s.reduce(ReduceOp.SUM, squares, new int[] {1}, true))));
            DeviceArray unit = keep(made, s.div(mean, keep(made, s.maximum(norm, 1e-12))));
            float[] flat = unit.download();
            int width = unit.shape().dim(1);
            dimensions = width;
            List<float[]> vectors = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                vectors.add(Arrays.copyOfRange(flat, b * width, (b + 1) * width));
            }
            return vectors;
        } finally {
            for (int i = made.size() - 1; i >= 0; i--) {
                made.get(i).close();
            }
        }
    }

    private static DeviceArray keep(List<DeviceArray> made, DeviceArray a) {
        made.add(a);
        return a;
    }
}
