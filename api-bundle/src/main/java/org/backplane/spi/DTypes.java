package org.backplane.spi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.backplane.api.DType;

/**
 * Element conversions by the rules of {@link DType}, for host-side code: reading and writing one
 * element of a native-order segment, half-precision encodings, and float-to-integer conversion.
 */
public final class DTypes {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private DTypes() {}

    /**
     * A Java scalar's type beside an array of type {@code t}: weak, so the array's type wins when
     * it is floating point, or when it is an integer type and the scalar an integer (see {@link DType}).
     */
    public static DType scalarType(DType t, Scalar s) {
        if (t.isFloatingPoint()) {
            return t;
        }
        if (!s.integral()) {
            return DType.FLOAT32;
        }
        boolean fitsInt = s.integer() == (int) s.integer();
        return t == DType.INT64 || !fitsInt ? DType.INT64 : DType.INT32;
    }

    /** A {@code float16} bit pattern as a float. */
    public static float halfToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** A float rounded to nearest even {@code float16}. */
    public static short floatToHalf(float f) {
        return Float.floatToFloat16(f);
    }

    /** A {@code bfloat16} bit pattern as a float (exact). */
    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** A float rounded to nearest even {@code bfloat16}; NaN stays a (quiet) NaN. */
    public static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /**
     * A floating value converted to an integer type: truncated toward zero, NaN to 0, beyond the
     * range to its minimum or maximum (Java's casts); to {@code bool}: 1 unless zero.
     */
    public static long toInteger(double v, DType t) {
        return switch (t) {
            case INT32 -> (int) v;
            case INT64 -> (long) v;
            case BOOL -> v != 0 || Double.isNaN(v) ? 1 : 0;
            default -> throw new IllegalArgumentException(t.id() + " is not an integer type");
        };
    }

    /** {@code v} as the type stores it (rounded to the floating type, or converted to the integer type). */
    public static double round(double v, DType t) {
        return switch (t) {
            case FLOAT32 -> (float) v;
            case FLOAT16 -> halfToFloat(floatToHalf((float) v));
            case BFLOAT16 -> bfloat16ToFloat(floatToBfloat16((float) v));
            case INT32, INT64, BOOL -> toInteger(v, t);
        };
    }

    /** Element {@code i} of a native-order segment of type {@code t}, as a double ({@code int64} beyond 2^53 rounds). */
    public static double read(MemorySegment s, DType t, long i) {
        return switch (t) {
            case FLOAT32 -> s.getAtIndex(F32, i);
            case FLOAT16 -> halfToFloat(s.getAtIndex(I16, i));
            case BFLOAT16 -> bfloat16ToFloat(s.getAtIndex(I16, i));
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
        };
    }

    /** Element {@code i} as an exact integer (floating types converted by {@link #toInteger} to {@code int64}). */
    public static long readLong(MemorySegment s, DType t, long i) {
        return switch (t) {
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            default -> toInteger(read(s, t, i), DType.INT64);
        };
    }

    /** Stores {@code v} as element {@code i} of type {@code t}, converting by the rules of {@link DType}. */
    public static void write(MemorySegment s, DType t, long i, double v) {
        switch (t) {
            case FLOAT32 -> s.setAtIndex(F32, i, (float) v);
            case FLOAT16 -> s.setAtIndex(I16, i, floatToHalf((float) v));
            case BFLOAT16 -> s.setAtIndex(I16, i, floatToBfloat16((float) v));
            case INT32 -> s.setAtIndex(I32, i, (int) toInteger(v, t));
            case INT64 -> s.setAtIndex(I64, i, toInteger(v, t));
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) toInteger(v, t));
        }
    }

    /** Stores the integer {@code v} as element {@code i} of type {@code t} (wrapping for {@code int32}). */
    public static void writeLong(MemorySegment s, DType t, long i, long v) {
        switch (t) {
            case INT32 -> s.setAtIndex(I32, i, (int) v);
            case INT64 -> s.setAtIndex(I64, i, v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            default -> write(s, t, i, (double) v);
        }
    }
}
