package org.backplane.api;

import java.util.Arrays;

/**
 * The immutable shape of an array: its dimensions, outermost first (row-major, like NumPy).
 * A rank-0 shape ({@code Shape.of()}) is a scalar with one element. Dimensions may be zero.
 */
public final class Shape {
    /** The most dimensions an array may have. */
    public static final int MAX_RANK = 8;

    private static final Shape SCALAR = new Shape(new int[0]);

    private final int[] dims;
    private final long size;

    private Shape(int[] dims) {
        this.dims = dims;
        long n = 1;
        for (int d : dims) {
            n = Math.multiplyExact(n, (long) d);
        }
        this.size = n;
    }

    /**
     * Returns the shape with the given dimensions.
     *
     * @throws NullPointerException if {@code dims} is null
     * @throws IllegalArgumentException if a dimension is negative, there are more than
     *     {@link #MAX_RANK} dimensions, or the element count overflows a {@code long}
     */
    public static Shape of(int... dims) {
        if (dims == null) {
            throw new NullPointerException("shape dimensions must not be null");
        }
        if (dims.length > MAX_RANK) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has rank " + dims.length
                    + "; at most " + MAX_RANK + " dimensions are supported");
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException(
                        "shape " + Arrays.toString(dims) + " has a negative dimension " + dims[i] + " at axis " + i);
            }
        }
        if (dims.length == 0) {
            return SCALAR;
        }
        try {
            return new Shape(dims.clone());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(dims) + " has more elements than a long can count");
        }
    }

    /** The scalar shape (rank 0, one element). */
    public static Shape scalar() {
        return SCALAR;
    }

    public int rank() {
        return dims.length;
    }

    /** The dimension at {@code axis}; a negative axis counts from the end ({@code -1} is the last). */
    public int dim(int axis) {
        return dims[normalizeAxis(axis)];
    }

    /** A copy of the dimensions. */
    public int[] dims() {
        return dims.clone();
    }

    /** The number of elements (the product of the dimensions; 1 for a scalar). */
    public long size() {
        return size;
    }

    /**
     * Maps a possibly negative axis to {@code [0, rank)}.
     *
     * @throws IllegalArgumentException if the axis is out of range for this shape
     */
    public int normalizeAxis(int axis) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException(
                    "axis " + axis + " is out of range for shape " + this + " (rank " + dims.length + ")");
        }
        return a;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** {@code [2, 3]}, or {@code []} for a scalar. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
