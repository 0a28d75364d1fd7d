package org.backplane.onnx.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.cpu.reference.Tensor;
import org.backplane.onnx.internal.proto.Onnx.TensorProto;

/**
 * A tensor stored in a model (an initializer or a {@code Constant}): its type, shape and
 * little-endian element bytes, ready to upload, or to become a host tensor when it is small or
 * integral (shape arithmetic).
 *
 * @param name the value name
 * @param dtype the element type
 * @param shape the shape
 * @param bytes {@code shape.size() * dtype.byteSize()} bytes, little-endian
 */
record TensorData(String name, DType dtype, Shape shape, MemorySegment bytes) {
    /** Elements at most this many are also kept on the host (shape constants, scalars). */
    static final long HOST_ELEMENTS = 64;

    static DType dtype(int onnxType, String where) {
        return switch (onnxType) {
            case 1 -> DType.FLOAT32;
            case 10 -> DType.FLOAT16;
            case 16 -> DType.BFLOAT16;
            case 6 -> DType.INT32;
            case 7 -> DType.INT64;
            case 9 -> DType.BOOL;
            default ->
                throw new ModelRejection(where + ": ONNX element type " + onnxType + " (" + typeName(onnxType)
                        + ") is not supported (float32, float16, bfloat16, int32, int64, bool are)");
        };
    }

    static String typeName(int onnxType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(onnxType);
        return t == null ? "unknown" : t.name().toLowerCase(Locale.ROOT);
    }

    static TensorData of(TensorProto t, Arena arena, String where) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw new ModelRejection(
                    where + ": tensor '" + t.getName()
                            + "' keeps its data in an external file, which is not supported; save the model with its weights inside");
        }
        DType dtype = dtype(t.getDataType(), where + " tensor '" + t.getName() + "'");
        int[] dims = new int[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = Math.toIntExact(t.getDims(i));
        }
        Shape shape = Shape.of(dims);
        long bytes = shape.size() * dtype.byteSize();
        MemorySegment out = arena.allocate(Math.max(1, bytes), 8).asSlice(0, bytes);
        if (t.hasRawData()) {
            if (t.getRawData().size() != bytes) {
                throw new ModelRejection(where + ": tensor '" + t.getName() + "' has "
                        + t.getRawData().size() + " bytes of data for " + shape + " " + dtype.id());
            }
            out.copyFrom(MemorySegment.ofBuffer(t.getRawData().asReadOnlyByteBuffer()));
            if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                throw new ModelRejection("raw tensor data is little-endian; this machine is not");
            }
            return new TensorData(t.getName(), dtype, shape, out);
        }
        long n = shape.size();
        switch (dtype) {
            case FLOAT32 -> {
                check(t.getFloatDataCount(), n, t, where);
                for (int i = 0; i < n; i++) {
                    out.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, t.getFloatData(i));
                }
            }
            case INT64 -> {
                check(t.getInt64DataCount(), n, t, where);
                for (int i = 0; i < n; i++) {
                    out.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, t.getInt64Data(i));
                }
            }
            case INT32, BOOL, FLOAT16, BFLOAT16 -> {
                // ONNX stores these in int32_data (half types as their bit patterns)
                check(t.getInt32DataCount(), n, t, where);
                for (int i = 0; i < n; i++) {
                    int v = t.getInt32Data(i);
                    switch (dtype) {
                        case INT32 -> out.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, v);
                        case BOOL -> out.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
                        default -> out.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) v);
                    }
                }
            }
        }
        return new TensorData(t.getName(), dtype, shape, out);
    }

    private static void check(int count, long n, TensorProto t, String where) {
        if (count != n) {
            throw new ModelRejection(
                    where + ": tensor '" + t.getName() + "' has " + count + " values for " + n + " elements");
        }
    }

    /** Whether it should also live on the host: integers (shape arithmetic) and tiny tensors. */
    boolean hostSide() {
        return dtype == DType.INT64 || dtype == DType.INT32 || shape.size() <= HOST_ELEMENTS;
    }

    Tensor toTensor() {
        return Tensor.of(bytes, dtype, shape);
    }
}
