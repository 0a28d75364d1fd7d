package org.backplane.api;

import java.util.Objects;
import java.util.Set;

/**
 * What a backend can do.
 *
 * @param dtypes element types it supports
 * @param maxArrayBytes the largest array it could ever hold; asking for a larger one fails at once
 *     on the caller's thread
 * @param maxRank the most dimensions an array may have
 * @param faultInjection whether fault injection is enabled on this instance
 * @param kernels which kernel path runs the ops ({@code "fast"}, {@code "reference"}, {@code "cuda"})
 */
public record Capabilities(Set<DType> dtypes, long maxArrayBytes, int maxRank, boolean faultInjection, String kernels) {
    public Capabilities {
        dtypes = Set.copyOf(Objects.requireNonNull(dtypes, "dtypes"));
        if (maxArrayBytes < 0) {
            throw new IllegalArgumentException("maxArrayBytes must not be negative");
        }
        kernels = kernels == null ? "" : kernels;
    }
}
