package org.backplane.api;

/** Elementwise unary ops. NaN inputs give NaN outputs (IEEE 754 propagation). */
public enum UnaryOp {
    /** {@code -x}. */
    NEG,
    /** {@code |x|}. */
    ABS,
    /** {@code e^x}. */
    EXP,
    /** Natural logarithm; {@code log(0) = -Inf}, {@code log(x < 0) = NaN}. */
    LOG,
    /** Square root; {@code sqrt(x < 0) = NaN}. */
    SQRT,
    /** Hyperbolic tangent. */
    TANH,
    /** {@code 1 / (1 + e^-x)}. */
    SIGMOID,
    /** {@code max(x, 0)} with {@link Math#max(float, float)} semantics (NaN stays NaN). */
    RELU;

    /** The op's lower-case name as used in op descriptions ({@code "exp"}). */
    public String opName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
