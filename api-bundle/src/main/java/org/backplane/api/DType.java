package org.backplane.api;

import java.util.Locale;

/**
 * Element types of device arrays.
 *
 * <p><b>Type rules.</b> Two operands of an elementwise op are computed in their common type
 * ({@link #promote}): {@code bool < int32 < int64 < float16, bfloat16 < float32}, and
 * {@code float16} with {@code bfloat16} gives {@code float32}. So {@code add(int32, float32)} is
 * {@code float32} and {@code add(int32, int64)} is {@code int64}. Then, per op:
 *
 * <ul>
 *   <li>arithmetic ({@code add sub mul maximum minimum}) on two {@code bool}s gives {@code int32};
 *   <li>{@code div} is true division: integer operands give {@code float32}; {@code pow} and the
 *       transcendental unary ops ({@code exp log sqrt rsqrt tanh sigmoid erf gelu silu sin cos
 *       reciprocal}) compute in floating point: integer and {@code bool} inputs give {@code float32};
 *   <li>comparisons give {@code bool} (compared in the common type); logical ops convert their
 *       operands to {@code bool} (non-zero, and NaN, is true) and give {@code bool};
 *   <li>a Java scalar operand is weakly typed: it takes the array's type if that is floating point,
 *       or if the array is an integer type and the scalar is a {@code long} (a {@code double}
 *       scalar with an integer array gives {@code float32}).
 * </ul>
 *
 * <p><b>Half precision.</b> {@code float16} and {@code bfloat16} are computed in {@code float32} and
 * stored (rounded to nearest even) in their own type. Reductions, matrix products, softmax and the
 * normalisations accumulate in {@code float32} on every backend (the CPU reference in float64).
 *
 * <p><b>Integers</b> wrap on overflow (two's complement, as in Java), and so does converting
 * {@code int64} to {@code int32} (the low 32 bits are kept, as in NumPy). Converting a floating value to
 * an integer type truncates toward zero; NaN gives 0; values beyond the type's range give its
 * minimum or maximum. Converting to {@code bool} gives {@code true} for every non-zero value and
 * NaN.
 */
public enum DType {
    /** IEEE 754 binary32. */
    FLOAT32(4),
    /** IEEE 754 binary16. */
    FLOAT16(2),
    /** bfloat16: the upper 16 bits of a binary32 (8 exponent bits, 7 fraction bits). */
    BFLOAT16(2),
    /** 32-bit two's complement integer. */
    INT32(4),
    /** 64-bit two's complement integer. */
    INT64(8),
    /** {@code true} or {@code false}, one byte each (0 or 1). */
    BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** {@code float32}, {@code float16} or {@code bfloat16}. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT16 || this == BFLOAT16;
    }

    /** {@code int32} or {@code int64}. */
    public boolean isInteger() {
        return this == INT32 || this == INT64;
    }

    /** The lower-case name used in messages and configurations ({@code "bfloat16"}). */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The type two operands are computed in: {@code bool < int32 < int64 < float16, bfloat16 <
     * float32}; {@code float16} with {@code bfloat16} is {@code float32}.
     */
    public static DType promote(DType a, DType b) {
        if (a == b) {
            return a;
        }
        if ((a == FLOAT16 && b == BFLOAT16) || (a == BFLOAT16 && b == FLOAT16)) {
            return FLOAT32;
        }
        return a.rank() >= b.rank() ? a : b;
    }

    private int rank() {
        return switch (this) {
            case BOOL -> 0;
            case INT32 -> 1;
            case INT64 -> 2;
            case FLOAT16, BFLOAT16 -> 3;
            case FLOAT32 -> 4;
        };
    }

    /**
     * The type named {@code name} ({@code float32}, {@code fp16}, {@code bf16}, {@code int64}, ...).
     *
     * @throws IllegalArgumentException naming the known types
     */
    public static DType parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "float32", "f32", "float" -> FLOAT32;
            case "float16", "f16", "fp16", "half" -> FLOAT16;
            case "bfloat16", "bf16" -> BFLOAT16;
            case "int32", "i32", "int" -> INT32;
            case "int64", "i64", "long" -> INT64;
            case "bool", "boolean" -> BOOL;
            default ->
                throw new IllegalArgumentException(
                        "unknown dtype '" + name + "' (known: float32, float16, bfloat16, int32, int64, bool)");
        };
    }
}
