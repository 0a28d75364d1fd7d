package org.backplane.api;

import java.util.Locale;

/**
 * Reductions over axes or over all elements. Floating inputs accumulate in {@code float32} (the CPU
 * reference in float64) and give their own type; {@code sum} and {@code prod} of integers and
 * {@code bool} give {@code int64}; {@code mean} and {@code var} of integers give {@code float32};
 * {@code max} and {@code min} keep the type.
 */
public enum ReduceOp {
    /** Sum; an empty sum is 0. */
    SUM,
    /** Maximum; NaN if any element is NaN. Reducing an empty axis is rejected (no identity). */
    MAX,
    /** Arithmetic mean; the mean of an empty axis is NaN (0/0). */
    MEAN,
    /** Minimum; NaN if any element is NaN. Reducing an empty axis is rejected (no identity). */
    MIN,
    /** Product; an empty product is 1. */
    PROD,
    /** Population variance (divided by the count, NumPy's {@code ddof=0}); NaN for an empty axis. */
    VAR;

    /** The op's lower-case name as used in op descriptions ({@code "sum"}). */
    public String opName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type of the result for an input of type {@code in}. */
    public DType resultType(DType in) {
        return switch (this) {
            case SUM, PROD -> in.isFloatingPoint() ? in : DType.INT64;
            case MEAN, VAR -> in.isFloatingPoint() ? in : DType.FLOAT32;
            case MAX, MIN -> in;
        };
    }

    /** Whether reducing an empty axis is an error (no identity). */
    public boolean needsElements() {
        return this == MAX || this == MIN;
    }
}
