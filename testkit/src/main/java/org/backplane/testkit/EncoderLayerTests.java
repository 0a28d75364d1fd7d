package org.backplane.testkit;

import java.util.Locale;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.testkit.encoder.EncoderLayer;
import org.backplane.testkit.encoder.EncoderReference;
import org.backplane.testkit.encoder.EncoderWeights;
import org.junit.jupiter.api.Test;

/**
 * A transformer encoder layer (attention with a padding mask, a GELU MLP, two layer norms; batch 8,
 * sequence 128, width 384, 12 heads, MLP width 1536), written only with the public API, against the
 * same layer computed in float64 with plain loops.
 *
 * <p>Stated tolerances, on outputs of unit scale (they come out of a layer norm): in float32 every
 * element within {@value #FLOAT32_MAX} of the reference; in bfloat16 (inputs, weights and every
 * intermediate rounded to 8 significant bits) within {@value #BFLOAT16_MAX} element by element and
 * {@value #BFLOAT16_MEAN} on average.
 */
public abstract class EncoderLayerTests extends ContractTestSupport {
    static final double FLOAT32_MAX = 1e-4;
    static final double BFLOAT16_MAX = 0.15;
    static final double BFLOAT16_MEAN = 0.01;

    private static final int BATCH = 8;
    private static final int SEQ = 128;
    private static final int[] LENGTHS = {128, 120, 100, 64, 128, 17, 90, 1};
    private static final EncoderWeights WEIGHTS = EncoderWeights.random(384, 12, 1536, 20261130);
    private static final float[] INPUT = input();
    private static double[] reference;

    private static float[] input() {
        java.util.Random r = new java.util.Random(7);
        float[] x = new float[BATCH * SEQ * 384];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static synchronized double[] reference() {
        if (reference == null) {
            reference = EncoderReference.forward(WEIGHTS, INPUT, BATCH, SEQ, LENGTHS);
        }
        return reference;
    }

    private float[] run(DType type) {
        try (ComputeStream s = backend.openStream("encoder-" + type.id())) {
            EncoderLayer layer = new EncoderLayer(s, WEIGHTS, type);
            DeviceArray out = layer.forward(layer.input(INPUT, BATCH, SEQ), layer.mask(LENGTHS, SEQ));
            return out.download();
        }
    }

    /** {max, mean} absolute difference from the reference. */
    private static double[] errors(float[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(actual.length + " outputs but expected " + expected.length);
        }
        double max = 0;
        double sum = 0;
        for (int i = 0; i < actual.length; i++) {
            double e = Math.abs(actual[i] - expected[i]);
            if (!(e <= Double.MAX_VALUE)) {
                throw new AssertionError("output " + i + " is " + actual[i] + " (reference " + expected[i] + ")");
            }
            max = Math.max(max, e);
            sum += e;
        }
        return new double[] {max, sum / actual.length};
    }

    @Test
    void float32LayerMatchesTheFloat64Reference() {
        double[] e = errors(run(DType.FLOAT32), reference());
        System.out.printf(
                Locale.ROOT,
                "%s encoder layer float32: max |error| %.3g, mean %.3g%n",
                fixture().name(),
                e[0],
                e[1]);
        if (e[0] > FLOAT32_MAX) {
            throw new AssertionError("float32 encoder layer differs from the float64 reference by up to " + e[0]
                    + " (allowed " + FLOAT32_MAX + ")");
        }
    }

    @Test
    void bfloat16LayerMatchesTheFloat64ReferenceLoosely() {
        double[] e = errors(run(DType.BFLOAT16), reference());
        System.out.printf(
                Locale.ROOT,
                "%s encoder layer bfloat16: max |error| %.3g, mean %.3g%n",
                fixture().name(),
                e[0],
                e[1]);
        if (e[0] > BFLOAT16_MAX || e[1] > BFLOAT16_MEAN) {
            throw new AssertionError("bfloat16 encoder layer differs from the float64 reference by up to " + e[0] + ", "
                    + e[1] + " on average (allowed " + BFLOAT16_MAX + ", " + BFLOAT16_MEAN + ")");
        }
    }
}
