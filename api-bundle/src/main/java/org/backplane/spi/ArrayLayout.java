package org.backplane.spi;

import java.util.Arrays;
import org.backplane.api.Shape;

/**
 * Where an array's elements lie in its storage: element {@code [i0, i1, ...]} is at
 * {@code offset + i0 * strides[0] + i1 * strides[1] + ...} elements from the storage's start. An
 * array an op produced is contiguous and row-major (offset 0); views (slices, transposes,
 * broadcasts) have other offsets and strides, possibly 0 (broadcast) or negative (a reversed slice).
 */
@SuppressWarnings("ArrayRecordComponent") // copied in and out; equals and hashCode compare the contents
public record ArrayLayout(long offset, long[] strides) {
    public ArrayLayout {
        strides = strides.clone();
    }

    /** The contiguous row-major layout of {@code shape}. */
    public static ArrayLayout rowMajor(Shape shape) {
        return new ArrayLayout(0, Shapes.strides(shape));
    }

    @Override
    public long[] strides() {
        return strides.clone();
    }

    /** Stride of {@code axis}, without copying. */
    public long stride(int axis) {
        return strides[axis];
    }

    public int rank() {
        return strides.length;
    }

    /** Whether an array of {@code shape} with this layout is contiguous and row-major from offset 0. */
    public boolean isRowMajor(Shape shape) {
        if (offset != 0) {
            return false;
        }
        long expected = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            if (shape.dim(i) != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape.dim(i);
        }
        return true;
    }

    /** The storage position of the element with row-major index {@code flat} of an array of {@code shape}. */
    public long position(Shape shape, long flat) {
        long pos = offset;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            int d = shape.dim(i);
            pos += (flat % d) * strides[i];
            flat /= d;
        }
        return pos;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ArrayLayout l && l.offset == offset && Arrays.equals(l.strides, strides);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(offset) * 31 + Arrays.hashCode(strides);
    }

    @Override
    public String toString() {
        return "offset " + offset + ", strides " + Arrays.toString(strides);
    }
}
