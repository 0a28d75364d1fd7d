package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.backplane.api.BinaryOp;
import org.backplane.api.UnaryOp;

/**
 * {@link Simd} on the Vector API, at the platform's preferred width (16 floats with AVX-512, 8
 * with AVX2 or NEON twice). Only loaded when {@code jdk.incubator.vector} is present.
 */
final class VectorSimd implements Simd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int MR = 4;
    private static final int NR = 2 * L;
    private static final int SUM_BLOCK = 1024;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

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
        return L;
    }

    @Override
    public String description() {
        return "Vector API, " + S.vectorBitSize() + "-bit (" + L + " floats)";
    }

    @Override
    public void unary(UnaryOp op, MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        // One loop per function: a loop whose body could be any of them inlines none of them well.
        switch (op) {
            case SIN, COS, FLOOR -> { // no exact vector form: element by element
                for (int i = 0; i < n; i++) {
                    F32.set(out, oo + i, ScalarSimd.apply(op, F32.get(x, xo + i)));
                }
            }
            case EXP -> exp(x, xo, out, oo, n);
            case LOG -> log(x, xo, out, oo, n);
            case TANH -> tanh(x, xo, out, oo, n);
            case SIGMOID -> sigmoid(x, xo, out, oo, n);
            case ERF -> erf(x, xo, out, oo, n);
            case GELU -> gelu(x, xo, out, oo, n);
            case GELU_TANH -> geluTanh(x, xo, out, oo, n);
            case SILU -> silu(x, xo, out, oo, n);
            default -> simple(op, x, xo, out, oo, n);
        }
    }

    private static void exp(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.exp(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.exp(load(x, (xo + i) * Float.BYTES, m)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void log(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.log(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.log(load(x, (xo + i) * Float.BYTES, m)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void tanh(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.tanh(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.tanh(load(x, (xo + i) * Float.BYTES, m))
                    .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void sigmoid(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.sigmoid(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.sigmoid(load(x, (xo + i) * Float.BYTES, m))
                    .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void erf(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.erf(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.erf(load(x, (xo + i) * Float.BYTES, m)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void gelu(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.gelu(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.gelu(load(x, (xo + i) * Float.BYTES, m))
                    .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void geluTanh(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.geluTanh(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.geluTanh(load(x, (xo + i) * Float.BYTES, m))
                    .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    private static void silu(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VectorMath.silu(load(x, (xo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            VectorMath.silu(load(x, (xo + i) * Float.BYTES, m))
                    .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER, m);
        }
    }

    /** The ops of one instruction or two. */
    private static void simple(UnaryOp op, MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        long xb = xo * Float.BYTES;
        long ob = oo * Float.BYTES;
        int i = 0;
        for (; i + L <= n; i += L) {
            lanewise(op, load(x, xb + (long) i * Float.BYTES))
                    .intoMemorySegment(out, ob + (long) i * Float.BYTES, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            lanewise(op, load(x, xb + (long) i * Float.BYTES, m))
                    .intoMemorySegment(out, ob + (long) i * Float.BYTES, ORDER, m);
        }
    }

    private static FloatVector lanewise(UnaryOp op, FloatVector v) {
        return switch (op) {
            case NEG -> v.neg();
            case ABS -> v.abs();
            case SQRT -> v.sqrt();
            case RELU -> v.max(0f);
            case RSQRT -> FloatVector.broadcast(S, 1f).div(v.sqrt());
            case RECIPROCAL -> FloatVector.broadcast(S, 1f).div(v);
            default -> throw new IllegalArgumentException("not a simple vector op: " + op);
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
        // One loop per operand layout: a vector merged from a broadcast on one path and a load on
        // the other (a phi) defeats C2's vector intrinsics once both paths have run, and every op
        // then takes the Vector API's element-by-element fallback, ten times slower.
        int i = 0;
        if (!vectorized(op)) {
            // element by element below
        } else if (as == 1 && bs == 1) {
            for (; i + L <= n; i += L) {
                lanewise(op, load(a, (ao + i) * Float.BYTES), load(b, (bo + i) * Float.BYTES))
                        .intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
            }
        } else if (as == 0 && bs == 1) {
            FloatVector va = FloatVector.broadcast(S, F32.get(a, ao));
            for (; i + L <= n; i += L) {
                lanewise(op, va, load(b, (bo + i) * Float.BYTES)).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
            }
        } else if (as == 1 && bs == 0) {
            FloatVector vb = FloatVector.broadcast(S, F32.get(b, bo));
            for (; i + L <= n; i += L) {
                lanewise(op, load(a, (ao + i) * Float.BYTES), vb).intoMemorySegment(out, (oo + i) * Float.BYTES, ORDER);
            }
        }
        for (; i < n; i++) { // the tail, other strides, ops without a vector form
            F32.set(out, oo + i, FastKernels.apply(op, F32.get(a, ao + (long) i * as), F32.get(b, bo + (long) i * bs)));
        }
    }

    private static boolean vectorized(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    private static FloatVector lanewise(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MAXIMUM -> a.max(b);
            case MINIMUM -> a.min(b);
            default -> throw new IllegalArgumentException("not lowered on vectors: " + op);
        };
    }

    private static FloatVector load(MemorySegment s, long byteOffset) {
        return FloatVector.fromMemorySegment(S, s, byteOffset, ORDER);
    }

    private static FloatVector load(MemorySegment s, long byteOffset, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(S, s, byteOffset, ORDER, m);
    }

    @Override
    public double sum(MemorySegment x, long off, int n) {
        double total = 0;
        long base = off * Float.BYTES;
        for (int block = 0; block < n; block += SUM_BLOCK) {
            int end = Math.min(n, block + SUM_BLOCK);
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            int i = block;
            for (; i + 2 * L <= end; i += 2 * L) {
                a0 = a0.add(load(x, base + (long) i * Float.BYTES));
                a1 = a1.add(load(x, base + (long) (i + L) * Float.BYTES));
            }
            for (; i < end; i += L) {
                a0 = a0.add(load(x, base + (long) i * Float.BYTES, S.indexInRange(i, end)));
            }
            total += VectorMath.sumLanes(a0.add(a1));
        }
        return total;
    }

    @Override
    public float max(MemorySegment x, long off, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        long base = off * Float.BYTES;
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = acc.max(load(x, base + (long) i * Float.BYTES));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, F32.get(x, off + i));
        }
        return m;
    }

    @Override
    public void softmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        float max = max(x, xo, n);
        FloatVector vmax = FloatVector.broadcast(S, max);
        FloatVector acc = FloatVector.zero(S);
        long xb = xo * Float.BYTES;
        long ob = oo * Float.BYTES;
        int i = 0;
        for (; i + L <= n; i += L) { // full vectors unmasked: masked loads and stores are slow on AVX2
            FloatVector e = VectorMath.exp(load(x, xb + (long) i * Float.BYTES).sub(vmax));
            e.intoMemorySegment(out, ob + (long) i * Float.BYTES, ORDER);
            acc = acc.add(e);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector e =
                    VectorMath.exp(load(x, xb + (long) i * Float.BYTES, m).sub(vmax));
            e.intoMemorySegment(out, ob + (long) i * Float.BYTES, ORDER, m);
            acc = acc.add(e, m);
        }
        FloatVector inv = FloatVector.broadcast(S, 1f / VectorMath.sumLanes(acc));
        scale(out, ob, n, inv);
    }

    /** {@code out[at..at + n) *= inv}, in place. */
    private static void scale(MemorySegment out, long ob, int n, FloatVector inv) {
        int i = 0;
        for (; i + L <= n; i += L) {
            long at = ob + (long) i * Float.BYTES;
            load(out, at).mul(inv).intoMemorySegment(out, at, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            long at = ob + (long) i * Float.BYTES;
            load(out, at, m).mul(inv).intoMemorySegment(out, at, ORDER, m);
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
        long xb = xo * Float.BYTES;
        float mean = center ? (float) (sum(x, xo, n) / n) : 0f;
        FloatVector vm = FloatVector.broadcast(S, mean);
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector d = load(x, xb + (long) i * Float.BYTES).sub(vm);
            acc = d.fma(d, acc);
        }
        double sq = VectorMath.sumLanes(acc);
        for (; i < n; i++) {
            double d = F32.get(x, xo + i) - mean;
            sq += d * d;
        }
        float scale = (float) (1 / Math.sqrt(sq / n + eps));
        FloatVector vs = FloatVector.broadcast(S, scale);
        long ob = oo * Float.BYTES;
        for (i = 0; i + L <= n; i += L) {
            long at = (long) i * Float.BYTES;
            FloatVector v = load(x, xb + at).sub(vm).mul(vs);
            if (w != null) {
                v = v.mul(load(w, at));
            }
            if (b != null) {
                v = v.add(load(b, at));
            }
            v.intoMemorySegment(out, ob + at, ORDER);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            long at = (long) i * Float.BYTES;
            FloatVector v = load(x, xb + at, m).sub(vm).mul(vs);
            if (w != null) {
                v = v.mul(load(w, at, m));
            }
            if (b != null) {
                v = v.add(load(b, at, m));
            }
            v.intoMemorySegment(out, ob + at, ORDER, m);
        }
    }

    @Override
    public void scaleMaskRow(MemorySegment s, long so, int n, float scale, MemorySegment mask, long mo, boolean keep) {
        // Full vectors unmasked (masked loads and stores are slow on AVX2), one loop per kind of mask.
        FloatVector vs = FloatVector.broadcast(S, scale);
        long sb = so * Float.BYTES;
        long mb = mo * Float.BYTES;
        int i = 0;
        if (mask == null) {
            for (; i + L <= n; i += L) {
                long at = sb + (long) i * Float.BYTES;
                load(s, at).mul(vs).intoMemorySegment(s, at, ORDER);
            }
        } else if (keep) {
            for (; i + L <= n; i += L) {
                long at = (long) i * Float.BYTES;
                FloatVector v = load(s, sb + at).mul(vs);
                v.blend(Float.NEGATIVE_INFINITY, load(mask, mb + at).compare(VectorOperators.EQ, 0f))
                        .intoMemorySegment(s, sb + at, ORDER);
            }
        } else {
            for (; i + L <= n; i += L) {
                long at = (long) i * Float.BYTES;
                load(s, sb + at).mul(vs).add(load(mask, mb + at)).intoMemorySegment(s, sb + at, ORDER);
            }
        }
        for (; i < n; i++) {
            float v = F32.get(s, so + i) * scale;
            if (mask != null) {
                float m = F32.get(mask, mo + i);
                v = keep ? (m == 0f ? Float.NEGATIVE_INFINITY : v) : v + m;
            }
            F32.set(s, so + i, v);
        }
    }

    @Override
    public void logSoftmaxRow(MemorySegment x, long xo, MemorySegment out, long oo, int n) {
        float max = max(x, xo, n);
        FloatVector vmax = FloatVector.broadcast(S, max);
        double sum = 0;
        long xb = xo * Float.BYTES;
        long ob = oo * Float.BYTES;
        for (int block = 0; block < n; block += SUM_BLOCK) {
            int end = Math.min(n, block + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            for (int i = block; i < end; i += L) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector shifted = load(x, xb + (long) i * Float.BYTES, m).sub(vmax);
                shifted.intoMemorySegment(out, ob + (long) i * Float.BYTES, ORDER, m);
                acc = acc.add(VectorMath.exp(shifted), m);
            }
            sum += VectorMath.sumLanes(acc);
        }
        float logSum = VectorMath.log(FloatVector.broadcast(S, (float) sum)).lane(0);
        FloatVector vlog = FloatVector.broadcast(S, logSum);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            long at = ob + (long) i * Float.BYTES;
            load(out, at, m).sub(vlog).intoMemorySegment(out, at, ORDER, m);
        }
    }

    /**
     * The 4 x (2 vectors) micro-kernel: 8 accumulators stay in registers for the whole k loop;
     * each step loads two B vectors and broadcasts four A values. Written out by hand because the
     * JIT keeps only named locals in vector registers. Four rows, not six: with x86's 16 vector
     * registers below AVX-512, C2 schedules the six broadcasts ahead of the FMAs, runs out of
     * registers and keeps two accumulators on the stack, which halved the kernel's speed (33
     * against 75 GFLOP/s a core on Zen 3).
     */
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
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
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
        }
        if (rows == MR && cols == NR) {
            long o = co;
            if (accumulate) {
                c00 = c00.add(load(c, o * Float.BYTES));
                c01 = c01.add(load(c, (o + L) * Float.BYTES));
                o += ldc;
                c10 = c10.add(load(c, o * Float.BYTES));
                c11 = c11.add(load(c, (o + L) * Float.BYTES));
                o += ldc;
                c20 = c20.add(load(c, o * Float.BYTES));
                c21 = c21.add(load(c, (o + L) * Float.BYTES));
                o += ldc;
                c30 = c30.add(load(c, o * Float.BYTES));
                c31 = c31.add(load(c, (o + L) * Float.BYTES));
                o = co;
            }
            c00.intoMemorySegment(c, o * Float.BYTES, ORDER);
            c01.intoMemorySegment(c, (o + L) * Float.BYTES, ORDER);
            o += ldc;
            c10.intoMemorySegment(c, o * Float.BYTES, ORDER);
            c11.intoMemorySegment(c, (o + L) * Float.BYTES, ORDER);
            o += ldc;
            c20.intoMemorySegment(c, o * Float.BYTES, ORDER);
            c21.intoMemorySegment(c, (o + L) * Float.BYTES, ORDER);
            o += ldc;
            c30.intoMemorySegment(c, o * Float.BYTES, ORDER);
            c31.intoMemorySegment(c, (o + L) * Float.BYTES, ORDER);
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
        Tiles.store(tile, NR, c, co, ldc, rows, cols, accumulate);
    }
}
