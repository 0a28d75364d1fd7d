package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import org.backplane.api.BinaryOp;
import org.backplane.api.UnaryOp;

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
    public int floatsPerVector() {
        return 1;
    }

    @Override
    public String description() {
        return vectorApiWanted ? "scalar (jdk.incubator.vector not available)" : "scalar (by configuration)";
    }

    @Override
    public void unary(UnaryOp op, MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        for (int i = 0; i < n; i++) {
            F32.set(out, oo + i, apply(op, F32.get(x, xo + i)));
        }
    }

    /** One element of a float unary op. */
    static float apply(UnaryOp op, float v) {
        return switch (op) {
            case NEG -> -v;
            case ABS -> Math.abs(v);
            case SQRT -> (float) Math.sqrt(v);
            case RELU -> Math.max(v, 0f);
            case RSQRT -> 1f / (float) Math.sqrt(v);
            case RECIPROCAL -> 1f / v;
            case SIN -> (float) StrictMath.sin(v);
            case COS -> (float) StrictMath.cos(v);
            case FLOOR -> (float) Math.floor(v);
            case EXP -> (float) StrictMath.exp(v);
            case LOG -> (float) StrictMath.log(v);
            case TANH -> (float) StrictMath.tanh(v);
            case SIGMOID -> (float) (1.0 / (1.0 + StrictMath.exp(-v)));
            case ERF -> ScalarMath.erf(v);
            case GELU -> ScalarMath.gelu(v);
            case GELU_TANH -> ScalarMath.geluTanh(v);
            case SILU -> (float) (v / (1.0 + StrictMath.exp(-(double) v)));
            case LOGICAL_NOT -> throw new IllegalArgumentException("logical not is lowered on truth values");
        };
    }

    @Override
    public void binary(
            BinaryOp op,
            MemorySegment a,
            long ao,
            int as,
            MemorySegment b,
            long bo,
            int bs,
            MemorySegment out,
            long oo,
            int n) {
        for (int i = 0; i < n; i++) {
            F32.set(out, oo + i, FastKernels.apply(op, F32.get(a, ao + (long) i * as), F32.get(b, bo + (long) i * bs)));
        }
    }

    @Override
    public double sum(MemorySegment x, long off, int n) {
        double total = 0;
        for (int block = 0; block < n; block += 1024) {
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            int end = Math.min(n, block + 1024);
            int i = block;
            for (; i + 4 <= end; i += 4) {
                s0 += F32.get(x, off + i);
                s1 += F32.get(x, off + i + 1);
                s2 += F32.get(x, off + i + 2);
                s3 += F32.get(x, off + i + 3);
            }
            for (; i < end; i++) {
                s0 += F32.get(x, off + i);
            }
            total += (double) (s0 + s1) + (s2 + s3);
        }
        return total;
    }

    @Override
    public float max(MemorySegment x, long off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, F32.get(x, off + i));
        }
        return m;
    }

    @Override
    public void softmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        float max = max(x, xo, n);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) StrictMath.exp(F32.get(x, xo + i) - max);
            F32.set(out, oo + i, e);
            sum += e;
        }
        float inv = 1.0f / sum;
        for (int i = 0; i < n; i++) {
            F32.set(out, oo + i, F32.get(out, oo + i) * inv);
        }
    }

    @Override
    public void normalizeRow(
            MemorySegment x,
            long xo,
            int n,
            MemorySegment w,
            MemorySegment b,
            float eps,
            boolean center,
            MemorySegment out,
            long oo) {
        double mean = center ? sum(x, xo, n) / n : 0;
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double d = F32.get(x, xo + i) - mean;
            sq += d * d;
        }
        float scale = (float) (1 / Math.sqrt(sq / n + eps));
        float m = (float) mean;
        for (int i = 0; i < n; i++) {
            float v = (F32.get(x, xo + i) - m) * scale;
            if (w != null) {
                v *= F32.get(w, i);
            }
            if (b != null) {
                v += F32.get(b, i);
            }
            F32.set(out, oo + i, v);
        }
    }

    @Override
    public void scaleMaskRow(MemorySegment s, long so, int n, float scale, MemorySegment mask, long mo, boolean keep) {
        for (int j = 0; j < n; j++) {
            float v = F32.get(s, so + j) * scale;
            if (mask != null) {
                float m = F32.get(mask, mo + j);
                v = keep ? (m != 0 ? v : Float.NEGATIVE_INFINITY) : v + m;
            }
            F32.set(s, so + j, v);
        }
    }

    @Override
    public void logSoftmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        float max = max(x, xo, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float shifted = F32.get(x, xo + i) - max;
            F32.set(out, oo + i, shifted);
            sum += (float) StrictMath.exp(shifted);
        }
        float logSum = (float) StrictMath.log((float) sum);
        for (int i = 0; i < n; i++) {
            F32.set(out, oo + i, F32.get(out, oo + i) - logSum);
        }
    }

    @Override
    public void gemmTile(
            int kc,
            float[] ap,
            int ao,
            float[] bp,
            int bo,
            MemorySegment c,
            long co,
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
