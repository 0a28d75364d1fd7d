package org.backplane.api;

import java.util.Locale;

/**
 * Elementwise binary ops with NumPy-style broadcasting: shapes are aligned at their last axis, and
 * two dimensions are compatible when they are equal or one of them is 1. Operands are computed in
 * their common type ({@link DType#promote}); see {@link DType} for the type each op gives.
 */
public enum BinaryOp {
    ADD,
    SUB,
    MUL,
    /** True division (integers give {@code float32}); IEEE 754: {@code x/0} is {@code ±Inf} or NaN. */
    DIV,
    /** {@link Math#max(float, float)} semantics: NaN if either is NaN, and {@code -0.0 < 0.0}. */
    MAXIMUM,
    /** {@link Math#min(float, float)} semantics: NaN if either is NaN, and {@code -0.0 < 0.0}. */
    MINIMUM,
    /**
     * {@code x} to the power {@code y}, in floating point (integers give {@code float32}), with C99's
     * {@code pow} special cases: {@code pow(x, ±0) = 1} and {@code pow(1, y) = 1} even for NaN,
     * {@code pow(-1, ±Inf) = 1}, a negative base with a non-integer exponent gives NaN.
     */
    POW,
    /** {@code a == b}; gives {@code bool} (NaN equals nothing). */
    EQUAL,
    /** {@code a != b}; gives {@code bool} (NaN differs from everything). */
    NOT_EQUAL,
    /** {@code a < b}; gives {@code bool}. */
    LESS,
    /** {@code a <= b}; gives {@code bool}. */
    LESS_EQUAL,
    /** {@code a > b}; gives {@code bool}. */
    GREATER,
    /** {@code a >= b}; gives {@code bool}. */
    GREATER_EQUAL,
    /** Logical and of the operands' truth (non-zero is true); gives {@code bool}. */
    LOGICAL_AND,
    /** Logical or of the operands' truth (non-zero is true); gives {@code bool}. */
    LOGICAL_OR;

    /** The op's lower-case name as used in op descriptions ({@code "add"}). */
    public String opName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the op compares its operands (gives {@code bool}). */
    public boolean isComparison() {
        return switch (this) {
            case EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL -> true;
            default -> false;
        };
    }

    /** Whether the op is logical and or or. */
    public boolean isLogical() {
        return this == LOGICAL_AND || this == LOGICAL_OR;
    }

    /**
     * The type operands are computed in, for operands of types {@code a} and {@code b}: their
     * common type, except that true division and {@code pow} compute integers in {@code float32},
     * arithmetic computes two {@code bool}s in {@code int32}, and logical ops compute in
     * {@code bool}.
     */
    public DType computeType(DType a, DType b) {
        if (isLogical()) {
            return DType.BOOL;
        }
        DType common = DType.promote(a, b);
        if ((this == DIV || this == POW) && !common.isFloatingPoint()) {
            return DType.FLOAT32;
        }
        if (common == DType.BOOL && !isComparison()) {
            return DType.INT32;
        }
        return common;
    }

    /** The type of the result for operands of types {@code a} and {@code b}. */
    public DType resultType(DType a, DType b) {
        return isComparison() || isLogical() ? DType.BOOL : computeType(a, b);
    }
}
