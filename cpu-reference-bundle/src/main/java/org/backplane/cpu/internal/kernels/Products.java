package org.backplane.cpu.internal.kernels;

import java.lang.foreign.MemorySegment;

/** Dense row-major float32 matrix products, {@code c = a (m x k) x b (k x n)}; offsets in elements. */
interface Products {
    /** Computes one product, spread over the threads it was given. */
    void multiply(
            MemorySegment a,
            long ao,
            MemorySegment b,
            long bo,
            MemorySegment c,
            long co,
            int m,
            int n,
            int k,
            Cancel cancel);

    /** Which implementation runs, for the backend's device details. */
    String description();
}
