package org.backplane.cpu.internal.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 exp, log and tanh on vectors, built only from add, multiply and fused multiply-add, which
 * IEEE 754 specifies exactly. The Vector API's own transcendental ops (and {@code Math.exp}) may
 * give different bits in interpreted and compiled code; these give the same bits everywhere, so a
 * computation can be repeated bit for bit (the contract's isolation tests rely on it). Polynomials
 * after Cephes ({@code expf}, {@code logf}, {@code tanhf}); measured within 1 ulp of
 * {@code StrictMath} over the float range.
 *
 * <p>Every method stays under HotSpot's inlining limit for hot calls (325 bytes of bytecode), and
 * each calls few others: a vector that crosses a call that was not inlined is boxed into a heap
 * object, which makes the loop several times slower. {@link VectorSimd} runs each function in a
 * loop of its own for the same reason.
 */
final class VectorMath {
    private static final float MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer

    private VectorMath() {}

    static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        FloatVector t = x.fma(FloatVector.broadcast(s, 1.44269504088896341f), FloatVector.broadcast(s, MAGIC));
        FloatVector n = t.sub(MAGIC); // round(x / ln 2)
        FloatVector r = n.fma(FloatVector.broadcast(s, -0.693359375f), x); // x - n ln 2, in two parts
        r = n.fma(FloatVector.broadcast(s, 2.12194440e-4f), r);
        FloatVector p = FloatVector.broadcast(s, 1.9875691500E-4f);
        p = p.fma(r, FloatVector.broadcast(s, 1.3981999507E-3f));
        p = p.fma(r, FloatVector.broadcast(s, 8.3334519073E-3f));
        p = p.fma(r, FloatVector.broadcast(s, 4.1665795894E-2f));
        p = p.fma(r, FloatVector.broadcast(s, 1.6666665459E-1f));
        p = p.fma(r, FloatVector.broadcast(s, 5.0000001201E-1f));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        // Scale by 2^n in two halves so that subnormal results are rounded once and exactly.
        IntVector ni = t.reinterpretAsInts().sub(0x4B400000).max(-300).min(300);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(n1).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = y.mul(s1).mul(s2);
        result = result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72283935546875f));
        result = result.blend(0f, x.compare(VectorOperators.LT, -103.972084f));
        return result.blend(x, x.compare(VectorOperators.NE, x)); // NaN stays NaN
    }

    static FloatVector log(FloatVector x) {
        VectorMask<Float> tiny = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        IntVector bits = x.blend(x.mul(33554432f), tiny).reinterpretAsInts(); // subnormals scaled by 2^25
        IntVector e = bits.lanewise(VectorOperators.LSHR, 23).and(0xff).sub(126);
        FloatVector ef = e.convert(VectorOperators.I2F, 0).reinterpretAsFloats();
        ef = ef.blend(ef.sub(25f), tiny);
        FloatVector m = bits.and(0x807fffff).or(0x3f000000).reinterpretAsFloats(); // mantissa in [0.5, 1)
        VectorMask<Float> low = m.compare(VectorOperators.LT, 0.707106781186547524f);
        ef = ef.blend(ef.sub(1f), low);
        FloatVector f = m.blend(m.add(m), low).sub(1f);
        FloatVector r = logOfMantissa(f, ef);
        r = r.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
        r = r.blend(Float.NaN, x.compare(VectorOperators.LT, 0f));
        return r.blend(x, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY).or(x.compare(VectorOperators.NE, x)));
    }

    /** {@code log(1 + f) + e log 2} for the mantissa's {@code f} in [sqrt(1/2) - 1, sqrt(2) - 1]. */
    private static FloatVector logOfMantissa(FloatVector f, FloatVector ef) {
        VectorSpecies<Float> s = f.species();
        FloatVector z = f.mul(f);
        FloatVector p = FloatVector.broadcast(s, 7.0376836292E-2f);
        p = p.fma(f, FloatVector.broadcast(s, -1.1514610310E-1f));
        p = p.fma(f, FloatVector.broadcast(s, 1.1676998740E-1f));
        p = p.fma(f, FloatVector.broadcast(s, -1.2420140846E-1f));
        p = p.fma(f, FloatVector.broadcast(s, 1.4249322787E-1f));
        p = p.fma(f, FloatVector.broadcast(s, -1.6668057665E-1f));
        p = p.fma(f, FloatVector.broadcast(s, 2.0000714765E-1f));
        p = p.fma(f, FloatVector.broadcast(s, -2.4999993993E-1f));
        p = p.fma(f, FloatVector.broadcast(s, 3.3333331174E-1f));
        FloatVector y = p.mul(f).mul(z);
        y = ef.fma(FloatVector.broadcast(s, -2.12194440e-4f), y);
        y = z.fma(FloatVector.broadcast(s, -0.5f), y);
        return ef.fma(FloatVector.broadcast(s, 0.693359375f), f.add(y));
    }

    static FloatVector tanh(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        FloatVector ax = x.abs();
        FloatVector z = x.mul(x);
        FloatVector p = FloatVector.broadcast(s, -5.70498872745E-3f);
        p = p.fma(z, FloatVector.broadcast(s, 2.06390887954E-2f));
        p = p.fma(z, FloatVector.broadcast(s, -5.37397155531E-2f));
        p = p.fma(z, FloatVector.broadcast(s, 1.33314422036E-1f));
        p = p.fma(z, FloatVector.broadcast(s, -3.33332819422E-1f));
        FloatVector small = p.mul(z).fma(x, x).blend(x, x.compare(VectorOperators.EQ, 0f)); // keeps -0
        FloatVector large = FloatVector.broadcast(s, 1f)
                .sub(FloatVector.broadcast(s, 2f).div(exp(ax.add(ax)).add(1f)));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        return small.blend(large, ax.compare(VectorOperators.GT, 0.625f));
    }

    static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(x.species(), 1f);
        return one.div(one.add(exp(x.neg())));
    }

    /*
     * The erf polynomials by Horner's rule, one fused multiply-add per coefficient in the order
     * ErfPolynomials.horner takes, written out: C2 does not unroll a loop over the coefficient array,
     * and GELU ran at 1.6 ns an element with it (512-bit vectors).
     */

    /** {@link ErfPolynomials#ERF_SMALL} at {@code x}. */
    private static FloatVector erfSmall(FloatVector x) {
        float[] c = ErfPolynomials.ERF_SMALL;
        VectorSpecies<Float> s = x.species();
        FloatVector p = FloatVector.broadcast(s, c[6]);
        p = p.fma(x, FloatVector.broadcast(s, c[5]));
        p = p.fma(x, FloatVector.broadcast(s, c[4]));
        p = p.fma(x, FloatVector.broadcast(s, c[3]));
        p = p.fma(x, FloatVector.broadcast(s, c[2]));
        p = p.fma(x, FloatVector.broadcast(s, c[1]));
        p = p.fma(x, FloatVector.broadcast(s, c[0]));
        return p;
    }

    /** {@link ErfPolynomials#ERFC_LOG} at {@code x}. */
    private static FloatVector erfcLog(FloatVector x) {
        float[] c = ErfPolynomials.ERFC_LOG;
        VectorSpecies<Float> s = x.species();
        FloatVector p = FloatVector.broadcast(s, c[10]);
        p = p.fma(x, FloatVector.broadcast(s, c[9]));
        p = p.fma(x, FloatVector.broadcast(s, c[8]));
        p = p.fma(x, FloatVector.broadcast(s, c[7]));
        p = p.fma(x, FloatVector.broadcast(s, c[6]));
        p = p.fma(x, FloatVector.broadcast(s, c[5]));
        p = p.fma(x, FloatVector.broadcast(s, c[4]));
        p = p.fma(x, FloatVector.broadcast(s, c[3]));
        p = p.fma(x, FloatVector.broadcast(s, c[2]));
        p = p.fma(x, FloatVector.broadcast(s, c[1]));
        p = p.fma(x, FloatVector.broadcast(s, c[0]));
        return p;
    }

    /** erfc(a) for a >= 0: {@code 1 - a P(a^2)} up to 1, {@code exp(Q(a))} up to 3.92 (accurate in the tail), 0 beyond. */
    static FloatVector erfcOfAbs(FloatVector a) {
        FloatVector small = FloatVector.broadcast(a.species(), 1f).sub(a.mul(erfSmall(a.mul(a))));
        FloatVector mid = exp(erfcLog(a.sub(2.46f)));
        FloatVector r = small.blend(mid, a.compare(VectorOperators.GT, 1f));
        return r.blend(0f, a.compare(VectorOperators.GE, 3.92f));
    }

    static FloatVector erf(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector small = x.mul(erfSmall(x.mul(x)));
        FloatVector large = FloatVector.broadcast(x.species(), 1f).sub(erfcOfAbs(a));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        FloatVector r = small.blend(large, a.compare(VectorOperators.GT, 1f));
        return r.blend(x, x.compare(VectorOperators.NE, x)); // NaN stays NaN
    }

    /**
     * GELU, exact: {@code x (1 + erf(x / sqrt 2)) / 2}, from one {@code erfc(|x| / sqrt 2)}: {@code x
     * (2 - erfc) / 2} for positive x, {@code x erfc / 2} for negative x (no cancellation either way).
     */
    static FloatVector gelu(FloatVector x) {
        FloatVector e = erfcOfAbs(x.abs().mul(0.70710678118654752f));
        FloatVector half = x.mul(0.5f);
        FloatVector positive = half.mul(FloatVector.broadcast(x.species(), 2f).sub(e));
        FloatVector r = positive.blend(half.mul(e), x.compare(VectorOperators.LT, 0f));
        return r.blend(x, x.compare(VectorOperators.NE, x));
    }

    /**
     * GELU with the tanh approximation, as {@code x sigmoid(2 inner)}: the same function as
     * {@code x (1 + tanh(inner)) / 2}, without its cancellation for negative x.
     */
    static FloatVector geluTanh(FloatVector x) {
        FloatVector inner = x.mul(x).fma(x.mul(0.044715f), x).mul(0.7978845608028654f);
        return x.mul(sigmoid(inner.add(inner)));
    }

    /** SiLU: {@code x sigmoid(x)}. */
    static FloatVector silu(FloatVector x) {
        return x.mul(sigmoid(x));
    }

    /** Sum of the lanes, first to last: a fixed order, unlike {@code reduceLanes(ADD)}. */
    static float sumLanes(FloatVector v) {
        float sum = 0;
        for (int i = 0; i < v.length(); i++) {
            sum += v.lane(i);
        }
        return sum;
    }
}
