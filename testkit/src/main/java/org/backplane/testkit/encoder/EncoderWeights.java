package org.backplane.testkit.encoder;

import java.util.Random;

/**
 * The parameters of one transformer encoder layer (BERT's post-norm layer, as in MiniLM): the
 * attention's query, key, value and output projections, two layer norms and a GELU MLP. Weights are
 * stored {@code [in, out]}, so that a layer is {@code x @ w + b}. Random, seeded, at BERT's
 * initialisation scale.
 *
 * @param hidden the model width
 * @param heads attention heads (dividing {@code hidden})
 * @param ffn the MLP's inner width
 */
@SuppressWarnings("ArrayRecordComponent") // test data, read only, never compared
public record EncoderWeights(
        int hidden,
        int heads,
        int ffn,
        float[] wq,
        float[] bq,
        float[] wk,
        float[] bk,
        float[] wv,
        float[] bv,
        float[] wo,
        float[] bo,
        float[] gamma1,
        float[] beta1,
        float[] w1,
        float[] b1,
        float[] w2,
        float[] b2,
        float[] gamma2,
        float[] beta2) {
    /** The layer norms' epsilon, BERT's. */
    public static final float EPSILON = 1e-12f;

    public static EncoderWeights random(int hidden, int heads, int ffn, long seed) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException(heads + " heads do not divide the width " + hidden);
        }
        Random r = new Random(seed);
        return new EncoderWeights(
                hidden,
                heads,
                ffn,
                normal(r, hidden * hidden, 0.05),
                normal(r, hidden, 0.02),
                normal(r, hidden * hidden, 0.05),
                normal(r, hidden, 0.02),
                normal(r, hidden * hidden, 0.05),
                normal(r, hidden, 0.02),
                normal(r, hidden * hidden, 0.05),
                normal(r, hidden, 0.02),
                around(r, hidden, 1, 0.1),
                normal(r, hidden, 0.05),
                normal(r, hidden * ffn, 0.05),
                normal(r, ffn, 0.02),
                normal(r, ffn * hidden, 0.05),
                normal(r, hidden, 0.02),
                around(r, hidden, 1, 0.1),
                normal(r, hidden, 0.05));
    }

    public int headDim() {
        return hidden / heads;
    }

    static float[] normal(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }

    private static float[] around(Random r, int n, double centre, double scale) {
        float[] v = normal(r, n, scale);
        for (int i = 0; i < n; i++) {
            v[i] += (float) centre;
        }
        return v;
    }
}
