package org.backplane.cpu.internal.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.backplane.api.UnaryOp;

/**
 * {@link Simd} on the Vector API, at the platform's preferred width (16 floats with AVX-512, 8
 * with AVX2 or NEON twice). Only loaded when {@code jdk.incubator.vector} is present.
 */
final class VectorSimd implements Simd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int MR = 6;
    private static final int NR = 2 * L;
    private static final int SUM_BLOCK = 1024;

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
        return "Vector API, " + S.vectorBitSize() + "-bit (" + L + " floats)";
    }

    @Override
    public void transcendental(UnaryOp op, float[] x, int xo, float[] out, int oo, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(S, x, xo + i, m);
            FloatVector r = switch (op) {
                case EXP -> VectorMath.exp(v);
                case LOG -> VectorMath.log(v);
                case TANH -> VectorMath.tanh(v);
                case SIGMOID -> VectorMath.sigmoid(v);
                case ERF -> VectorMath.erf(v);
                case GELU -> VectorMath.gelu(v);
                case GELU_TANH -> VectorMath.geluTanh(v);
                case SILU -> VectorMath.silu(v);
                default -> throw new IllegalArgumentException("not a transcendental op: " + op);
            };
            r.intoArray(out, oo + i, m);
        }
    }

    @Override
    public double sum(float[] x, int off, int n) {
        double total = 0;
        for (int block = 0; block < n; block += SUM_BLOCK) {
            int end = Math.min(n, block + SUM_BLOCK);
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            int i = block;
            for (; i + 2 * L <= end; i += 2 * L) {
                a0 = a0.add(FloatVector.fromArray(S, x, off + i));
                a1 = a1.add(FloatVector.fromArray(S, x, off + i + L));
            }
            for (; i < end; i += L) {
                a0 = a0.add(FloatVector.fromArray(S, x, off + i, S.indexInRange(i, end)));
            }
            total += VectorMath.sumLanes(a0.add(a1));
        }
        return total;
    }

    @Override
    public float max(float[] x, int off, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = acc.max(FloatVector.fromArray(S, x, off + i));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    @Override
    public void softmaxRow(float[] x, int xo, float[] out, int oo, int n) {
        float max = max(x, xo, n);
        FloatVector vmax = FloatVector.broadcast(S, max);
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector e =
                    VectorMath.exp(FloatVector.fromArray(S, x, xo + i, m).sub(vmax));
            e.intoArray(out, oo + i, m);
            acc = acc.add(e, m);
        }
        FloatVector inv = FloatVector.broadcast(S, 1f / VectorMath.sumLanes(acc));
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector.fromArray(S, out, oo + i, m).mul(inv).intoArray(out, oo + i, m);
        }
    }

    /**
     * The 6 x (2 vectors) micro-kernel: 12 accumulators stay in registers for the whole k loop;
     * each step loads two B vectors and broadcasts six A values. Written out by hand because the
     * JIT keeps only named locals in vector registers.
     */
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
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int a = ao;
        int b = bo;
        for (int k = 0; k < kc; k++, a += MR, b += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, b);
            FloatVector b1 = FloatVector.fromArray(S, bp, b + L);
            FloatVector av = FloatVector.broadcast(S, ap[a]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[a + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[a + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[a + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[a + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[a + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        if (rows == MR && cols == NR) {
            int o = co;
            if (accumulate) {
                c00 = c00.add(FloatVector.fromArray(S, c, o));
                c01 = c01.add(FloatVector.fromArray(S, c, o + L));
                o += ldc;
                c10 = c10.add(FloatVector.fromArray(S, c, o));
                c11 = c11.add(FloatVector.fromArray(S, c, o + L));
                o += ldc;
                c20 = c20.add(FloatVector.fromArray(S, c, o));
                c21 = c21.add(FloatVector.fromArray(S, c, o + L));
                o += ldc;
                c30 = c30.add(FloatVector.fromArray(S, c, o));
                c31 = c31.add(FloatVector.fromArray(S, c, o + L));
                o += ldc;
                c40 = c40.add(FloatVector.fromArray(S, c, o));
                c41 = c41.add(FloatVector.fromArray(S, c, o + L));
                o += ldc;
                c50 = c50.add(FloatVector.fromArray(S, c, o));
                c51 = c51.add(FloatVector.fromArray(S, c, o + L));
                o = co;
            }
            c00.intoArray(c, o);
            c01.intoArray(c, o + L);
            o += ldc;
            c10.intoArray(c, o);
            c11.intoArray(c, o + L);
            o += ldc;
            c20.intoArray(c, o);
            c21.intoArray(c, o + L);
            o += ldc;
            c30.intoArray(c, o);
            c31.intoArray(c, o + L);
            o += ldc;
            c40.intoArray(c, o);
            c41.intoArray(c, o + L);
            o += ldc;
            c50.intoArray(c, o);
            c51.intoArray(c, o + L);
            return;
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        Tiles.store(tile, NR, c, co, ldc, rows, cols, accumulate);
    }
}
