package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.backplane.api.DType;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.DTypes;

/**
 * The CPU backend's storage for an array: its elements in a Java array of the type's width
 * ({@code float[]} for {@code float32}, {@code short[]} holding the bits of {@code float16} and
 * {@code bfloat16}, {@code int[]}, {@code long[]}, {@code byte[]} of 0 and 1 for {@code bool}).
 * Views read it through their own layout.
 *
 * @param dtype the element type
 * @param array the elements
 */
@SuppressWarnings("ArrayRecordComponent") // storage, not a value: never compared
record HostData(DType dtype, Object array) implements ArrayStorage {
    HostData {
        Class<?> expected = switch (dtype) {
            case FLOAT32 -> float[].class;
            case FLOAT16, BFLOAT16 -> short[].class;
            case INT32 -> int[].class;
            case INT64 -> long[].class;
            case BOOL -> byte[].class;
        };
        if (array.getClass() != expected) {
            throw new IllegalArgumentException(dtype.id() + " storage must be a " + expected.getSimpleName());
        }
    }

    static HostData allocate(DType dtype, int n) {
        return new HostData(
                dtype,
                switch (dtype) {
                    case FLOAT32 -> new float[n];
                    case FLOAT16, BFLOAT16 -> new short[n];
                    case INT32 -> new int[n];
                    case INT64 -> new long[n];
                    case BOOL -> new byte[n];
                });
    }

    /** Elements held (of the whole storage, which views may share). */
    int length() {
        return java.lang.reflect.Array.getLength(array);
    }

    @Override
    public long byteSize() {
        return (long) length() * dtype.byteSize();
    }

    /** The layout of one element of {@code dtype} in a native-order segment. */
    static ValueLayout layout(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> ValueLayout.JAVA_FLOAT_UNALIGNED;
            case FLOAT16, BFLOAT16 -> ValueLayout.JAVA_SHORT_UNALIGNED;
            case INT32 -> ValueLayout.JAVA_INT_UNALIGNED;
            case INT64 -> ValueLayout.JAVA_LONG_UNALIGNED;
            case BOOL -> ValueLayout.JAVA_BYTE;
        };
    }

    /** {@code n} elements of {@code dtype} copied from a native-order segment ({@code bool}: non-zero bytes are true). */
    static HostData copyOf(MemorySegment source, DType dtype, int n) {
        HostData d = allocate(dtype, n);
        MemorySegment.copy(source, layout(dtype), 0, d.segment(), layout(dtype), 0, n);
        if (d.array instanceof byte[] b) {
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (b[i] != 0 ? 1 : 0);
            }
        }
        return d;
    }

    /** Copies its first {@code n} elements into a native-order segment. */
    void copyTo(MemorySegment target, int n) {
        MemorySegment.copy(segment(), layout(dtype), 0, target, layout(dtype), 0, n);
    }

    /** The elements as a heap segment. */
    private MemorySegment segment() {
        return switch (array) {
            case float[] a -> MemorySegment.ofArray(a);
            case short[] a -> MemorySegment.ofArray(a);
            case int[] a -> MemorySegment.ofArray(a);
            case long[] a -> MemorySegment.ofArray(a);
            case byte[] a -> MemorySegment.ofArray(a);
            default -> throw new AssertionError(array.getClass());
        };
    }

    /** Storage holding {@code values} converted to {@code dtype} (to an integer type: truncated, saturated). */
    static HostData ofFloats(float[] values, DType dtype) {
        if (dtype == DType.FLOAT32) {
            return new HostData(dtype, values);
        }
        HostData d = allocate(dtype, values.length);
        switch (d.array) {
            case short[] s
            when dtype == DType.FLOAT16 -> {
                for (int i = 0; i < values.length; i++) {
                    s[i] = Float.floatToFloat16(values[i]);
                }
            }
            case short[] s -> {
                for (int i = 0; i < values.length; i++) {
                    s[i] = DTypes.floatToBfloat16(values[i]);
                }
            }
            case int[] v -> {
                for (int i = 0; i < values.length; i++) {
                    v[i] = (int) values[i];
                }
            }
            case long[] v -> {
                for (int i = 0; i < values.length; i++) {
                    v[i] = (long) values[i];
                }
            }
            case byte[] v -> {
                for (int i = 0; i < values.length; i++) {
                    v[i] = (byte) (values[i] != 0 || Float.isNaN(values[i]) ? 1 : 0);
                }
            }
            default -> throw new AssertionError(dtype);
        }
        return d;
    }

    /** Storage holding integer {@code values} in {@code dtype} ({@code int32} wraps; {@code bool}: non-zero). */
    static HostData ofLongs(long[] values, DType dtype) {
        if (dtype == DType.INT64) {
            return new HostData(dtype, values);
        }
        if (dtype.isFloatingPoint()) {
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = values[i];
            }
            return ofFloats(f, dtype);
        }
        HostData d = allocate(dtype, values.length);
        if (d.array instanceof int[] v) {
            for (int i = 0; i < values.length; i++) {
                v[i] = (int) values[i];
            }
        } else {
            byte[] v = (byte[]) d.array;
            for (int i = 0; i < values.length; i++) {
                v[i] = (byte) (values[i] != 0 ? 1 : 0);
            }
        }
        return d;
    }
}
