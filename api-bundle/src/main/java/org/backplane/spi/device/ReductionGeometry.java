package org.backplane.spi.device;

import org.backplane.api.Shape;

/**
 * A reduction seen as {@code [outer, length, inner]}: {@code outer * inner} results, each over
 * {@code length} elements {@code inner} apart. A reduction over all elements is {@code [1, size, 1]}.
 */
public record ReductionGeometry(long outer, long length, long inner) {

    /** The geometry of reducing {@code x} over {@code axis} (normalised), or over everything when {@code all}. */
    public static ReductionGeometry of(Shape x, boolean all, int axis) {
        if (all) {
            return new ReductionGeometry(1, x.size(), 1);
        }
        long outer = 1;
        long inner = 1;
        for (int d = 0; d < axis; d++) {
            outer *= x.dim(d);
        }
        for (int d = axis + 1; d < x.rank(); d++) {
            inner *= x.dim(d);
        }
        return new ReductionGeometry(outer, x.dim(axis), inner);
    }
}
