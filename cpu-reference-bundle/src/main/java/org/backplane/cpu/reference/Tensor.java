package org.backplane.cpu.reference;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.spi.DTypes;

/**
 * A row-major array on the host for the reference: its type, shape and values as doubles (each
 * value exactly as its type holds it; {@code int64} values beyond 2^53 round, which the reference
 * accepts).
 *
 * @param dtype the element type
 * @param shape the shape
 * @param data the values, row-major, {@code shape.size()} of them
 */
@SuppressWarnings("ArrayRecordComponent") // host data, not a value: never compared
public record Tensor(DType dtype, Shape shape, double[] data) {
    public Tensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        if (data.length != shape.size()) {
            throw new IllegalArgumentException(data.length + " values for shape " + shape);
        }
    }

    /** {@code values} rounded to {@code dtype}. */
    public static Tensor of(DType dtype, Shape shape, double[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = DTypes.round(values[i], dtype);
        }
        return new Tensor(dtype, shape, d);
    }

    public static Tensor of(float[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return new Tensor(DType.FLOAT32, Shape.of(shape), d);
    }

    public static Tensor of(int[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return new Tensor(DType.INT32, Shape.of(shape), d);
    }

    public static Tensor of(long[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return new Tensor(DType.INT64, Shape.of(shape), d);
    }

    public static Tensor of(boolean[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i] ? 1 : 0;
        }
        return new Tensor(DType.BOOL, Shape.of(shape), d);
    }

    /** The elements of a native-order segment of {@code dtype}, row-major. */
    public static Tensor of(MemorySegment segment, DType dtype, Shape shape) {
        double[] d = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < d.length; i++) {
            d[i] = DTypes.read(segment, dtype, i);
        }
        return new Tensor(dtype, shape, d);
    }

    /** This tensor's values in a new native-order segment of its type (on the heap). */
    public MemorySegment toSegment() {
        MemorySegment s = MemorySegment.ofArray(new long[(int) ((data.length * (long) dtype.byteSize() + 7) / 8)]);
        for (int i = 0; i < data.length; i++) {
            DTypes.write(s, dtype, i, data[i]);
        }
        return s.asSlice(0, data.length * (long) dtype.byteSize());
    }

    /** The values as floats. */
    public float[] floats() {
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return f;
    }

    /** The values as a {@code float32} tensor's would be stored, bit for bit comparable. */
    public static float[] floats(MemorySegment segment, long count) {
        float[] f = new float[Math.toIntExact(count)];
        MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, f, 0, f.length);
        return f;
    }

    public long size() {
        return data.length;
    }
}
