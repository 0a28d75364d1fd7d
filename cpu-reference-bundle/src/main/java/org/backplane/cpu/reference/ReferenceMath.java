package org.backplane.cpu.reference;

/**
 * Scalar functions in float64 that {@link StrictMath} lacks, written from their definitions: the
 * error function (Maclaurin series where it converges fast, Lentz's continued fraction for erfc
 * elsewhere; about 1e-15 relative) and C99's {@code pow} special cases.
 */
public final class ReferenceMath {
    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    private ReferenceMath() {}

    /** The error function. */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a < 2.5) {
            double term = a;
            double sum = a;
            double x2 = a * a;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return Math.copySign(TWO_OVER_SQRT_PI * sum, x);
        }
        return Math.copySign(1 - erfcLarge(a), x);
    }

    /** The complementary error function {@code 1 - erf(x)}, accurate in the tails. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        if (x >= 2.5) {
            return erfcLarge(x);
        }
        if (x <= -2.5) {
            return 2 - erfcLarge(-x);
        }
        return 1 - erf(x);
    }

    /** erfc for {@code x >= 2.5}: {@code exp(-x^2) / sqrt(pi) * 1 / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))}. */
    private static double erfcLarge(double x) {
        if (x > 27) {
            return 0;
        }
        // Lentz's algorithm on the continued fraction K(a_n / x) with a_n = n / 2.
        double tiny = 1e-300;
        double f = x;
        double c = x;
        double d = 0;
        for (int n = 1; n < 500; n++) {
            double an = n / 2.0;
            d = x + an * d;
            d = d == 0 ? tiny : d;
            c = x + an / c;
            c = c == 0 ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return StrictMath.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    /** GELU, exact: {@code x * erfc(-x / sqrt 2) / 2} (accurate for large negative x too). */
    public static double gelu(double x) {
        return x * erfc(-x / Math.sqrt(2)) / 2;
    }

    /** GELU with the tanh approximation. */
    public static double geluTanh(double x) {
        double inner = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
        return 0.5 * x * (1 + StrictMath.tanh(inner));
    }

    /** C99's {@code pow}: {@code pow(x, ±0) = 1} and {@code pow(1, y) = 1} even for NaN, {@code pow(-1, ±Inf) = 1}. */
    public static double pow(double x, double y) {
        if (y == 0 || x == 1) {
            return 1;
        }
        if (x == -1 && Double.isInfinite(y)) {
            return 1;
        }
        return StrictMath.pow(x, y);
    }
}
