package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.backplane.api.DType;
import org.backplane.cpu.internal.kernels.F32;
import org.backplane.cpu.internal.memory.NativeBuffer;
import org.backplane.spi.DTypes;

/**
 * Results written into an output's storage in its type (float32 results rounded once to a half type,
 * truncated to an integer type, non-zero to {@code bool}), and the host's copies in and out.
 */
final class HostStores {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;

    private HostStores() {}

    /** The first {@code out.elements()} float32 values of {@code values}, converted into {@code out}. */
    static void storeFloats(MemorySegment values, NativeBuffer out) {
        MemorySegment dst = out.segment();
        long n = out.elements();
        switch (out.dtype()) {
            case FLOAT32 -> F32.copy(values, 0, dst, 0, n);
            case FLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(I16, i, Float.floatToFloat16(F32.get(values, i)));
                }
            }
            case BFLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(I16, i, DTypes.floatToBfloat16(F32.get(values, i)));
                }
            }
            case INT32 -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(I32, i, (int) F32.get(values, i));
                }
            }
            case INT64 -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(I64, i, (long) F32.get(values, i));
                }
            }
            case BOOL -> {
                for (long i = 0; i < n; i++) {
                    float f = F32.get(values, i);
                    dst.set(ValueLayout.JAVA_BYTE, i, (byte) (f != 0 || Float.isNaN(f) ? 1 : 0));
                }
            }
        }
    }

    /** Float {@code values} computed on the heap (the few scans written on arrays), converted into {@code out}. */
    static void storeFloats(float[] values, NativeBuffer out) {
        if (out.dtype() == DType.FLOAT32) {
            MemorySegment.copy(values, 0, out.segment(), F32.LAYOUT, 0, values.length);
            return;
        }
        MemorySegment dst = out.segment();
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            switch (out.dtype()) {
                case FLOAT16 -> dst.setAtIndex(I16, i, Float.floatToFloat16(v));
                case BFLOAT16 -> dst.setAtIndex(I16, i, DTypes.floatToBfloat16(v));
                case INT32 -> dst.setAtIndex(I32, i, (int) v);
                case INT64 -> dst.setAtIndex(I64, i, (long) v);
                case BOOL -> dst.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 || Float.isNaN(v) ? 1 : 0));
                default -> throw new AssertionError(out.dtype());
            }
        }
    }

    /** Integer {@code values} into {@code out} ({@code int32} wraps; {@code bool}: non-zero; floating: rounded). */
    static void storeLongs(long[] values, NativeBuffer out) {
        MemorySegment dst = out.segment();
        DType type = out.dtype();
        for (int i = 0; i < values.length; i++) {
            long v = values[i];
            switch (type) {
                case INT64 -> dst.setAtIndex(I64, i, v);
                case INT32 -> dst.setAtIndex(I32, i, (int) v);
                case BOOL -> dst.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
                case FLOAT32 -> F32.set(dst, i, (float) v);
                case FLOAT16 -> dst.setAtIndex(I16, i, Float.floatToFloat16((float) v));
                case BFLOAT16 -> dst.setAtIndex(I16, i, DTypes.floatToBfloat16((float) v));
            }
        }
    }

    /** {@code n} elements of {@code target}'s type copied from a native-order segment ({@code bool}: non-zero bytes are true). */
    static void copyIn(MemorySegment source, NativeBuffer target) {
        long bytes = target.byteSize();
        MemorySegment.copy(source, 0, target.segment(), 0, bytes);
        if (target.dtype() == DType.BOOL) {
            MemorySegment dst = target.segment();
            for (long i = 0; i < bytes; i++) {
                if (dst.get(ValueLayout.JAVA_BYTE, i) != 0) {
                    dst.set(ValueLayout.JAVA_BYTE, i, (byte) 1);
                }
            }
        }
    }
}
