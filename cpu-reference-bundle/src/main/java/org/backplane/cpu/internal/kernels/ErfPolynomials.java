package org.backplane.cpu.internal.kernels;

/**
 * The polynomials of float32 {@code erf} and {@code erfc}, shared by the vector kernels
 * ({@link VectorMath}) and the scalar ones ({@link ScalarMath}), so that both paths compute the same
 * function, and neither is the float64 oracle it is checked against. A plain class: the scalar path
 * must not load the Vector API.
 */
final class ErfPolynomials {
    private ErfPolynomials() {}

    /** erf(x)/x on [0, 1] as a polynomial in x^2 (least squares on Chebyshev nodes; within 2.3 ulp of erf). */
    static final float[] ERF_SMALL = {
        1.128379225730896f,
        -0.3761262893676758f,
        0.11283625662326813f,
        -0.02685539983212948f,
        0.005191218573600054f,
        -0.0008034846396185458f,
        7.933493907330558e-05f
    };
    /** log(erfc(x)) on [1, 3.92] as a polynomial in x - 2.46. */
    static final float[] ERFC_LOG = {
        -7.594217777252197f,
        -5.277222156524658f,
        -0.9425697326660156f,
        -0.011211467906832695f,
        0.002251584315672517f,
        -0.0004396395233925432f,
        8.059704850893468e-05f,
        -1.3553495591622777e-05f,
        1.8996348671862506e-06f,
        -5.307429873369074e-08f,
        -4.778926410153872e-08f
    };

    /** {@code c[0] + c[1] x + ...}, evaluated with fused multiply-adds as the vector path does. */
    static float horner(float[] c, float x) {
        float p = c[c.length - 1];
        for (int i = c.length - 2; i >= 0; i--) {
            p = Math.fma(p, x, c[i]);
        }
        return p;
    }
}
