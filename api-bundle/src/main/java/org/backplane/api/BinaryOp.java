package org.backplane.api;

/**
 * Elementwise binary ops with NumPy-style broadcasting: shapes are aligned at their last axis, and
 * two dimensions are compatible when they are equal or one of them is 1.
 */
public enum BinaryOp {
    ADD,
    SUB,
    MUL,
    /** IEEE 754 division: {@code x/0} is {@code ±Inf} or NaN. */
    DIV,
    /** {@link Math#max(float, float)} semantics: NaN if either is NaN, and {@code -0.0 < 0.0}. */
    MAXIMUM,
    /** {@link Math#min(float, float)} semantics: NaN if either is NaN, and {@code -0.0 < 0.0}. */
    MINIMUM;

    /** The op's lower-case name as used in op descriptions ({@code "add"}). */
    public String opName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
