package org.backplane.testkit;

import java.util.Locale;
import org.backplane.api.DType;
import org.backplane.cpu.reference.Tensor;

/**
 * Comparisons of a backend's result with the reference's, by type: integers and truth values
 * exactly; floating-point values with NaN meeting NaN, an infinity the same infinity, and finite
 * values within {@code atol + (rtol + typeUlps * eps(type)) * magnitude}, where {@code eps} is the
 * type's relative precision ({@code 2^-10} for {@code float16}, {@code 2^-7} for {@code bfloat16},
 * 0 for {@code float32}, whose error the {@code rtol} states) and the magnitude is {@code |expected|}
 * unless the caller gives the sum of the magnitudes behind it (for sums, where cancellation makes
 * {@code |expected|} meaningless).
 */
public final class TensorAssertions {
    private TensorAssertions() {}

    /** Same type, shape and values (NaN matches any NaN; -0 and +0 differ). */
    public static void assertExact(Tensor expected, Tensor actual, String what) {
        assertClose(expected, actual, null, 0, 0, 0, what);
    }

    public static void assertClose(
            Tensor expected, Tensor actual, Tensor magnitude, double rtol, double atol, double typeUlps, String what) {
        if (expected.dtype() != actual.dtype()) {
            throw new AssertionError(what + ": type " + actual.dtype().id() + " but expected "
                    + expected.dtype().id());
        }
        if (!expected.shape().equals(actual.shape())) {
            throw new AssertionError(what + ": shape " + actual.shape() + " but expected " + expected.shape());
        }
        DType type = expected.dtype();
        double eps = switch (type) {
            case FLOAT16 -> 0x1.0p-10;
            case BFLOAT16 -> 0x1.0p-7;
            default -> 0;
        };
        double tiny = type == DType.FLOAT16 ? typeUlps * 0x1.0p-24 : 0;
        boolean exact = rtol == 0 && atol == 0 && typeUlps == 0;
        for (int i = 0; i < expected.data().length; i++) {
            double e = expected.data()[i];
            double a = actual.data()[i];
            if (!type.isFloatingPoint() || exact) {
                boolean same = Double.isNaN(e)
                        ? Double.isNaN(a)
                        : Double.doubleToRawLongBits(e) == Double.doubleToRawLongBits(a);
                if (!same) {
                    throw fail(what, i, a, e, "exactly");
                }
                continue;
            }
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                if (!(Double.isNaN(e) ? Double.isNaN(a) : a == e)) {
                    throw fail(what, i, a, e, "exactly");
                }
                continue;
            }
            if (Double.isInfinite(a) && Math.abs(e) > maxFinite(type) / 2) {
                continue; // a finite expectation near overflow may round to infinity
            }
            double m = magnitude == null ? Math.abs(e) : magnitude.data()[i];
            double bound = atol + tiny + (rtol + typeUlps * eps) * m;
            if (!(Math.abs(a - e) <= bound)) {
                throw fail(what, i, a, e, String.format(Locale.ROOT, "within %.3g", bound));
            }
        }
    }

    private static double maxFinite(DType t) {
        return switch (t) {
            case FLOAT16 -> 65504;
            case BFLOAT16, FLOAT32 -> Float.MAX_VALUE;
            default -> Double.MAX_VALUE;
        };
    }

    private static AssertionError fail(String what, int i, double a, double e, String how) {
        return new AssertionError(what + ": element " + i + " is " + a + " but expected " + e + " " + how);
    }
}
