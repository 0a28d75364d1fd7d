package org.backplane.cpu.internal.kernels;

/**
 * The scalar kernels' {@code erf}, GELU and tanh-GELU: the vector kernels' formulas
 * ({@link VectorMath}) one float at a time, with {@link StrictMath#exp} for the exponential. Not the
 * float64 reference ({@code ReferenceMath}): the scalar path is checked against that oracle, so it
 * must not be it.
 */
final class ScalarMath {
    private ScalarMath() {}

    /** erfc(a) for a >= 0. */
    static float erfcOfAbs(float a) {
        if (a >= 3.92f) {
            return 0f;
        }
        if (a > 1f) {
            return (float) StrictMath.exp(ErfPolynomials.horner(ErfPolynomials.ERFC_LOG, a - 2.46f));
        }
        return 1f - a * ErfPolynomials.horner(ErfPolynomials.ERF_SMALL, a * a);
    }

    static float erf(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        float a = Math.abs(x);
        if (a <= 1f) {
            return x * ErfPolynomials.horner(ErfPolynomials.ERF_SMALL, x * x);
        }
        float large = 1f - erfcOfAbs(a);
        return x < 0 ? -large : large;
    }

    /** {@code x (1 + erf(x / sqrt 2)) / 2} from one erfc, without cancellation on either side. */
    static float gelu(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        float e = erfcOfAbs(Math.abs(x) * 0.70710678118654752f);
        float half = x * 0.5f;
        return x < 0 ? half * e : half * (2f - e);
    }

    /** {@code x sigmoid(2 inner)}, inner = {@code sqrt(2/pi) (x + 0.044715 x^3)}. */
    static float geluTanh(float x) {
        float inner = Math.fma(x * x, x * 0.044715f, x) * 0.7978845608028654f;
        return x * (float) (1.0 / (1.0 + StrictMath.exp(-2.0 * inner)));
    }
}
