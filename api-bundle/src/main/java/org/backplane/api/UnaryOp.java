package org.backplane.api;

import java.util.Locale;

/**
 * Elementwise unary ops. NaN inputs give NaN outputs (IEEE 754 propagation). Ops marked
 * <em>floating</em> compute in floating point: integer and {@code bool} inputs give
 * {@code float32}; the others keep the input's type.
 */
public enum UnaryOp {
    /** {@code -x} (integers wrap). */
    NEG,
    /** {@code |x|}. */
    ABS,
    /** {@code e^x}; floating. */
    EXP,
    /** Natural logarithm; {@code log(0) = -Inf}, {@code log(x < 0) = NaN}; floating. */
    LOG,
    /** Square root; {@code sqrt(x < 0) = NaN}; floating. */
    SQRT,
    /** Hyperbolic tangent; floating. */
    TANH,
    /** {@code 1 / (1 + e^-x)}; floating. */
    SIGMOID,
    /** {@code max(x, 0)} with {@link Math#max(float, float)} semantics (NaN stays NaN). */
    RELU,
    /** {@code 1 / sqrt(x)}; floating. */
    RSQRT,
    /** The error function {@code erf(x)}; floating. */
    ERF,
    /** GELU, exact: {@code x * (1 + erf(x / sqrt 2)) / 2}; floating. */
    GELU,
    /** GELU, tanh approximation: {@code x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2}; floating. */
    GELU_TANH,
    /** SiLU (swish): {@code x * sigmoid(x)}; floating. */
    SILU,
    /** Sine (radians); floating. */
    SIN,
    /** Cosine (radians); floating. */
    COS,
    /** {@code 1 / x}; floating. */
    RECIPROCAL,
    /** Logical not: {@code true} where {@code x} is zero; gives {@code bool}. */
    LOGICAL_NOT,
    /**
     * The largest integer not above {@code x}, in {@code x}'s type ({@code -0} stays {@code -0}, NaN
     * and the infinities stay; integers are their own floor; {@code bool} gives {@code int32}).
     */
    FLOOR;

    /** The op's lower-case name as used in op descriptions ({@code "exp"}). */
    public String opName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the op computes in floating point (integer inputs give {@code float32}). */
    public boolean isFloating() {
        return switch (this) {
            case NEG, ABS, RELU, LOGICAL_NOT, FLOOR -> false;
            default -> true;
        };
    }

    /** The type of {@code op(x)} for an input of type {@code in}. */
    public DType resultType(DType in) {
        if (this == LOGICAL_NOT) {
            return DType.BOOL;
        }
        if (isFloating()) {
            return in.isFloatingPoint() ? in : DType.FLOAT32;
        }
        return in == DType.BOOL ? DType.INT32 : in;
    }
}
