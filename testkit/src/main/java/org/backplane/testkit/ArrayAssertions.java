package org.backplane.testkit;

/**
 * Comparisons of computed arrays with expected ones. NaN must meet NaN and an infinity the same
 * infinity wherever the expected value has one (IEEE 754 propagation); finite values are compared
 * exactly, in ulps, or against a per-element error bound.
 */
public final class ArrayAssertions {
    private ArrayAssertions() {}

    /** Every bit the same, except that any NaN matches any NaN. */
    public static void assertExact(float[] expected, float[] actual, String what) {
        assertLength(expected, actual, what);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            boolean same = Float.isNaN(e) ? Float.isNaN(a) : Float.floatToRawIntBits(e) == Float.floatToRawIntBits(a);
            if (!same) {
                throw new AssertionError(what + ": element " + i + " is " + a + " but expected exactly " + e);
            }
        }
    }

    /** Bit-identical, NaN payloads included: two runs of the same deterministic work. */
    public static void assertBitIdentical(float[] expected, float[] actual, String what) {
        assertLength(expected, actual, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(
                        what + ": element " + i + " is " + actual[i] + " but the fault-free run gave " + expected[i]);
            }
        }
    }

    /** Within {@code ulps} units in the last place of the expected value, or {@code absolute}. */
    public static void assertWithinUlps(float[] expected, float[] actual, int ulps, double absolute, String what) {
        double[] bound = new double[expected.length];
        for (int i = 0; i < bound.length; i++) {
            bound[i] = ulps * (double) Math.ulp(expected[i]) + absolute;
        }
        assertWithinBound(expected, actual, bound, what);
    }

    /** {@code |actual - expected| <= bound} element by element, with specials agreeing. */
    public static void assertWithinBound(float[] expected, float[] actual, double[] bound, String what) {
        assertLength(expected, actual, what);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            if (!specialsAgree(e, a)) {
                throw new AssertionError(what + ": element " + i + " is " + a + " but expected " + e);
            }
            if (Float.isFinite(e) && !(Math.abs((double) a - e) <= bound[i])) {
                throw new AssertionError(
                        what + ": element " + i + " is " + a + " but expected " + e + " within " + bound[i]);
            }
        }
    }

    private static boolean specialsAgree(float e, float a) {
        if (Float.isNaN(e)) {
            return Float.isNaN(a);
        }
        if (Float.isInfinite(e)) {
            return a == e;
        }
        return Float.isFinite(a)
                || Math.abs(e) > Float.MAX_VALUE / 2; // a finite expectation near overflow may round to Inf
    }

    private static void assertLength(float[] expected, float[] actual, String what) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": " + actual.length + " elements but expected " + expected.length);
        }
    }
}
