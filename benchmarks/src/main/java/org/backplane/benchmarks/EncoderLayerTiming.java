package org.backplane.benchmarks;

import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.testkit.encoder.EncoderLayer;
import org.backplane.testkit.encoder.EncoderWeights;

/**
 * Times the transformer encoder layer of the conformance suite (batch 8, sequence 128, width 384,
 * 12 heads, MLP 1536) on a stream: best milliseconds per forward pass over timed rounds, each pass
 * waited for, after warm-up. The Python baselines build the same layer the same size.
 */
final class EncoderLayerTiming {
    static final int BATCH = 8;
    static final int SEQ = 128;
    static final int HIDDEN = 384;
    static final int HEADS = 12;
    static final int FFN = 1536;

    private EncoderLayerTiming() {}

    /** The baselines' arguments for the same layer. */
    static String shapeArgs() {
        return "batch=" + BATCH + " seq=" + SEQ + " hidden=" + HIDDEN + " heads=" + HEADS + " ffn=" + FFN;
    }

    static double bestMillis(ComputeStream s, DType type, int reps, int rounds) {
        EncoderWeights w = EncoderWeights.random(HIDDEN, HEADS, FFN, 1);
        EncoderLayer layer = new EncoderLayer(s, w, type);
        float[] input = new float[BATCH * SEQ * HIDDEN];
        java.util.Random r = new java.util.Random(2);
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) r.nextGaussian();
        }
        int[] lengths = new int[BATCH];
        for (int b = 0; b < BATCH; b++) {
            lengths[b] = SEQ - (b * 13) % SEQ;
        }
        DeviceArray x = layer.input(input, BATCH, SEQ);
        DeviceArray mask = layer.mask(lengths, SEQ);
        // Warm-up: at least 5 passes and 3 seconds, so that the JIT has compiled the host path (a
        // serving JVM runs warm; PyTorch's host code is compiled ahead of time).
        long warmUntil = System.nanoTime() + 3_000_000_000L;
        for (int i = 0; i < 5 || System.nanoTime() < warmUntil; i++) {
            DeviceArray out = layer.forward(x, mask);
            s.eval(out);
            out.close();
        }
        double best = Double.MAX_VALUE;
        for (int round = 0; round < rounds; round++) {
            s.synchronize();
            long t = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                DeviceArray out = layer.forward(x, mask);
                s.eval(out);
                out.close();
            }
            best = Math.min(best, (System.nanoTime() - t) / 1e6 / reps);
        }
        return best;
    }
}
