package org.backplane.cpu.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.cpu.internal.kernels.F32;
import org.backplane.cpu.internal.memory.NativeBuffer;
import org.backplane.cpu.reference.Tensor;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.DTypes;
import org.backplane.spi.EngineArray;

/**
 * An array's elements read in row-major order through its layout (a view reads its root's storage),
 * in the domain an op computes in: dense float32 (the storage itself when it already is that, else a
 * converted copy in scratch), exact integers as {@code long}, or truth values. Kernels never write
 * their inputs.
 */
final class HostReads {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;

    private HostReads() {}

    static NativeBuffer storage(EngineArray a) {
        return a.storage(NativeBuffer.class);
    }

    /** The values as dense float32 ({@code int64} rounds, {@code bool} is 0 or 1). Do not write to the result. */
    static MemorySegment floats(EngineArray a, Scratchpad pad) {
        return floats(a, a.shape(), a.layout(), pad);
    }

    /** The elements of {@code a}'s storage at {@code layout} (a broadcast of it, say), as dense float32 of {@code shape}. */
    static MemorySegment floats(EngineArray a, Shape shape, ArrayLayout layout, Scratchpad pad) {
        MemorySegment src = storage(a).segment();
        long size = shape.size();
        if (a.dtype() == DType.FLOAT32 && dense(shape, layout)) {
            return src.asSlice(layout.offset() * Float.BYTES, size * Float.BYTES);
        }
        MemorySegment out = pad.floats(size);
        DType type = a.dtype();
        StridedRuns.forEach(shape, layout, (o, p, s, n) -> {
            if (type == DType.FLOAT32) {
                if (s == 1) {
                    F32.copy(src, p, out, o, n);
                } else if (s == 0) {
                    F32.fill(out, o, n, F32.get(src, p));
                } else {
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, F32.get(src, p + (long) i * s));
                    }
                }
                return;
            }
            switch (type) {
                case FLOAT16 -> {
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, Float.float16ToFloat(src.getAtIndex(I16, p + (long) i * s)));
                    }
                }
                case BFLOAT16 -> {
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, DTypes.bfloat16ToFloat(src.getAtIndex(I16, p + (long) i * s)));
                    }
                }
                case INT32 -> {
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, src.getAtIndex(I32, p + (long) i * s));
                    }
                }
                case INT64 -> {
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, (float) src.getAtIndex(I64, p + (long) i * s));
                    }
                }
                default -> { // BOOL: a byte of 0 or 1
                    for (int i = 0; i < n; i++) {
                        F32.set(out, o + i, src.get(ValueLayout.JAVA_BYTE, p + (long) i * s));
                    }
                }
            }
        });
        return out;
    }

    private static float readFloat(MemorySegment s, DType t, long i) {
        return switch (t) {
            case FLOAT32 -> F32.get(s, i);
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(I16, i));
            case BFLOAT16 -> DTypes.bfloat16ToFloat(s.getAtIndex(I16, i));
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i);
        };
    }

    /** The values as exact integers (floating values truncated toward zero, NaN to 0). */
    static long[] longs(EngineArray a) {
        MemorySegment src = storage(a).segment();
        long[] out = new long[Math.toIntExact(a.size())];
        DType type = a.dtype();
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            for (int i = 0; i < n; i++) {
                long at = p + (long) i * s;
                out[o + i] = switch (type) {
                    case INT32 -> src.getAtIndex(I32, at);
                    case INT64 -> src.getAtIndex(I64, at);
                    case BOOL -> src.get(ValueLayout.JAVA_BYTE, at);
                    default -> (long) readFloat(src, type, at);
                };
            }
        });
        return out;
    }

    /** The values as truth values: 1 for non-zero (and NaN), else 0. */
    static byte[] truths(EngineArray a) {
        MemorySegment src = storage(a).segment();
        byte[] out = new byte[Math.toIntExact(a.size())];
        DType type = a.dtype();
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            for (int i = 0; i < n; i++) {
                long at = p + (long) i * s;
                boolean t = switch (type) {
                    case BOOL -> src.get(ValueLayout.JAVA_BYTE, at) != 0;
                    case INT32 -> src.getAtIndex(I32, at) != 0;
                    case INT64 -> src.getAtIndex(I64, at) != 0;
                    default -> {
                        float f = readFloat(src, type, at);
                        yield f != 0 || Float.isNaN(f);
                    }
                };
                out[o + i] = (byte) (t ? 1 : 0);
            }
        });
        return out;
    }

    /** The elements in their own type, dense and row-major: the storage itself when it already is that. */
    static MemorySegment contiguous(EngineArray a, Scratchpad pad) {
        MemorySegment src = storage(a).segment();
        long width = a.dtype().byteSize();
        long size = a.size();
        if (dense(a.shape(), a.layout())) {
            return src.asSlice(a.layout().offset() * width, size * width);
        }
        MemorySegment out = pad.bytes(size * width);
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            if (s == 1) {
                MemorySegment.copy(src, p * width, out, o * width, n * width);
                return;
            }
            switch ((int) width) {
                case 8 -> {
                    for (int i = 0; i < n; i++) {
                        out.setAtIndex(I64, o + i, src.getAtIndex(I64, p + (long) i * s));
                    }
                }
                case 4 -> {
                    for (int i = 0; i < n; i++) {
                        out.setAtIndex(I32, o + i, src.getAtIndex(I32, p + (long) i * s));
                    }
                }
                case 2 -> {
                    for (int i = 0; i < n; i++) {
                        out.setAtIndex(I16, o + i, src.getAtIndex(I16, p + (long) i * s));
                    }
                }
                default -> {
                    for (int i = 0; i < n; i++) {
                        out.set(ValueLayout.JAVA_BYTE, o + i, src.get(ValueLayout.JAVA_BYTE, p + (long) i * s));
                    }
                }
            }
        });
        return out;
    }

    /** The array as a reference tensor (row-major, exact values). */
    static Tensor tensor(EngineArray a) {
        MemorySegment src = storage(a).segment();
        double[] v = new double[Math.toIntExact(a.size())];
        DType type = a.dtype();
        StridedRuns.forEach(a.shape(), a.layout(), (o, p, s, n) -> {
            for (int i = 0; i < n; i++) {
                v[o + i] = DTypes.read(src, type, p + (long) i * s);
            }
        });
        return new Tensor(a.dtype(), a.shape(), v);
    }

    /** Whether {@code layout} lays {@code shape} out densely in row-major order (from any offset). */
    static boolean dense(Shape shape, ArrayLayout layout) {
        long expected = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            if (shape.dim(i) != 1 && layout.stride(i) != expected) {
                return false;
            }
            expected *= shape.dim(i);
        }
        return true;
    }
}
