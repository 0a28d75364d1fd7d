package org.backplane.testkit.encoder;

import java.util.stream.IntStream;

/**
 * The same encoder layer as {@link EncoderLayer}, computed in float64 with plain loops and no
 * rounding anywhere: the reference the backends' results are measured against. Shares no code with
 * Backplane's kernels or its CPU reference.
 */
public final class EncoderReference {
    private EncoderReference() {}

    /** The layer's output for {@code x [batch, seq, hidden]}, attending to the first {@code lengths[b]} tokens. */
    public static double[] forward(EncoderWeights w, float[] x, int batch, int seq, int[] lengths) {
        int h = w.hidden();
        int rows = batch * seq;
        double[] in = new double[x.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = x[i];
        }
        double[] q = linear(in, rows, h, w.wq(), w.bq(), h);
        double[] k = linear(in, rows, h, w.wk(), w.bk(), h);
        double[] v = linear(in, rows, h, w.wv(), w.bv(), h);
        double[] attention = attention(q, k, v, batch, seq, w.heads(), w.headDim(), lengths);
        double[] o = linear(attention, rows, h, w.wo(), w.bo(), h);
        double[] x1 = layerNorm(add(in, o), rows, h, w.gamma1(), w.beta1());
        double[] inner = linear(x1, rows, h, w.w1(), w.b1(), w.ffn());
        for (int i = 0; i < inner.length; i++) {
            inner[i] = gelu(inner[i]);
        }
        double[] y = linear(inner, rows, w.ffn(), w.w2(), w.b2(), h);
        return layerNorm(add(x1, y), rows, h, w.gamma2(), w.beta2());
    }

    /** {@code x [rows, in] @ weight [in, out] + bias}. */
    static double[] linear(double[] x, int rows, int in, float[] weight, float[] bias, int out) {
        double[] y = new double[rows * out];
        IntStream.range(0, rows).parallel().forEach(r -> {
            double[] acc = new double[out];
            for (int j = 0; j < out; j++) {
                acc[j] = bias[j];
            }
            for (int p = 0; p < in; p++) {
                double xv = x[r * in + p];
                int base = p * out;
                for (int j = 0; j < out; j++) {
                    acc[j] += xv * weight[base + j];
                }
            }
            System.arraycopy(acc, 0, y, r * out, out);
        });
        return y;
    }

    /** Softmax(q k^T / sqrt(d), keys beyond the sequence's length masked) v, per head; in and out {@code [batch * seq, heads * d]}. */
    static double[] attention(double[] q, double[] k, double[] v, int batch, int seq, int heads, int d, int[] lengths) {
        int h = heads * d;
        double scale = 1 / Math.sqrt(d);
        double[] out = new double[batch * seq * h];
        IntStream.range(0, batch * heads).parallel().forEach(bh -> {
            int b = bh / heads;
            int head = bh % heads;
            double[] p = new double[seq];
            for (int i = 0; i < seq; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < lengths[b]; j++) {
                    double dot = 0;
                    for (int c = 0; c < d; c++) {
                        dot += q[(b * seq + i) * h + head * d + c] * k[(b * seq + j) * h + head * d + c];
                    }
                    p[j] = dot * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < lengths[b]; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int j = 0; j < lengths[b]; j++) {
                        acc += p[j] * v[(b * seq + j) * h + head * d + c];
                    }
                    out[(b * seq + i) * h + head * d + c] = acc / sum;
                }
            }
        });
        return out;
    }

    static double[] layerNorm(double[] x, int rows, int n, float[] gamma, float[] beta) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int i = 0; i < n; i++) {
                mean += x[r * n + i];
            }
            mean /= n;
            double var = 0;
            for (int i = 0; i < n; i++) {
                double dv = x[r * n + i] - mean;
                var += dv * dv;
            }
            var /= n;
            double inv = 1 / Math.sqrt(var + EncoderWeights.EPSILON);
            for (int i = 0; i < n; i++) {
                y[r * n + i] = (x[r * n + i] - mean) * inv * gamma[i] + beta[i];
            }
        }
        return y;
    }

    static double[] add(double[] a, double[] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = a[i] + b[i];
        }
        return c;
    }

    /** Exact GELU, {@code x Phi(x)}, with erf from its series and continued fraction (float64 accurate). */
    static double gelu(double x) {
        return 0.5 * x * erfc(-x / Math.sqrt(2));
    }

    /** erfc by the Taylor series of erf near 0 and a Lentz continued fraction in the tails. */
    static double erfc(double x) {
        if (x < 0) {
            return 2 - erfc(-x);
        }
        if (x < 2) {
            double sum = x;
            double term = x;
            double x2 = x * x;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return 1 - 2 / Math.sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        double f = x;
        double c = x;
        double dd = 0;
        for (int n = 1; n < 200; n++) {
            double an = n / 2.0;
            dd = x + an * dd;
            dd = 1 / dd;
            c = x + an / c;
            double delta = c * dd;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
