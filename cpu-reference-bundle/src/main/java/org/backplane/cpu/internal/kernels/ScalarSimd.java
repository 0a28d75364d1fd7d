package org.backplane.cpu.internal.kernels;

import org.backplane.api.UnaryOp;
import org.backplane.cpu.reference.ReferenceMath;

/** Portable implementations of {@link Simd} for runtimes without {@code jdk.incubator.vector}. */
final class ScalarSimd implements Simd {
    private static final int MR = 4;
    private static final int NR = 16;

    private final boolean vectorApiWanted;

    /** @param vectorApiWanted whether the Vector API was asked for (and is missing), for the description */
    ScalarSimd(boolean vectorApiWanted) {
        this.vectorApiWanted = vectorApiWanted;
    }

    @Override
    public int mr() {
        return MR;
    }

    @Override
    public int nr() {
        return NR;
    }

    @Override
    public String description() {
        return vectorApiWanted ? "scalar (jdk.incubator.vector not available)" : "scalar (by configuration)";
    }

    @Override
    public void transcendental(UnaryOp op, float[] x, int xo, float[] out, int oo, int n) {
        switch (op) {
            case EXP -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) StrictMath.exp(x[xo + i]);
                }
            }
            case LOG -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) StrictMath.log(x[xo + i]);
                }
            }
            case TANH -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) StrictMath.tanh(x[xo + i]);
                }
            }
            case SIGMOID -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) (1.0 / (1.0 + StrictMath.exp(-x[xo + i])));
                }
            }
            case ERF -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) ReferenceMath.erf(x[xo + i]);
                }
            }
            case GELU -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) ReferenceMath.gelu(x[xo + i]);
                }
            }
            case GELU_TANH -> {
                for (int i = 0; i < n; i++) {
                    out[oo + i] = (float) ReferenceMath.geluTanh(x[xo + i]);
                }
            }
            case SILU -> {
                for (int i = 0; i < n; i++) {
                    double v = x[xo + i];
                    out[oo + i] = (float) (v / (1.0 + StrictMath.exp(-v)));
                }
            }
            default -> throw new IllegalArgumentException("not a transcendental op: " + op);
        }
    }

    @Override
    public double sum(float[] x, int off, int n) {
        double total = 0;
        for (int block = 0; block < n; block += 1024) {
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            int end = Math.min(n, block + 1024);
            int i = block;
            for (; i + 4 <= end; i += 4) {
                s0 += x[off + i];
                s1 += x[off + i + 1];
                s2 += x[off + i + 2];
                s3 += x[off + i + 3];
            }
            for (; i < end; i++) {
                s0 += x[off + i];
            }
            total += (double) (s0 + s1) + (s2 + s3);
        }
        return total;
    }

    @Override
    public float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    @Override
    public void softmaxRow(float[] x, int xo, float[] out, int oo, int n) {
        float max = max(x, xo, n);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) StrictMath.exp(x[xo + i] - max);
            out[oo + i] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (int i = 0; i < n; i++) {
            out[oo + i] *= inv;
        }
    }

    @Override
    public void gemmTile(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            float[] c,
            int co,
            int ldc,
            int rows,
            int cols,
            boolean accumulate,
            float[] tile) {
        java.util.Arrays.fill(tile, 0, MR * NR, 0f);
        for (int k = 0; k < kc; k++) {
            int b = bo + k * NR;
            int a = ao + k * MR;
            for (int r = 0; r < MR; r++) {
                float av = ap[a + r];
                int t = r * NR;
                for (int j = 0; j < NR; j++) {
                    tile[t + j] += av * bp[b + j];
                }
            }
        }
        Tiles.store(tile, NR, c, co, ldc, rows, cols, accumulate);
    }
}
