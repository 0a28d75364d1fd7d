package org.backplane.spi;

/**
 * How a stream batches ops into command buffers (MLX commits a buffer after 20–50 ops or 40–50 MB
 * and keeps about 10 in flight).
 *
 * @param maxOps commit the open batch once it holds this many ops
 * @param maxBytes commit the open batch once its ops' outputs reach this many bytes
 * @param maxInFlight at most this many committed batches per stream are unfinished; committing
 *     another waits (back-pressure)
 */
public record BatchPolicy(int maxOps, long maxBytes, int maxInFlight) {
    /** 32 ops, 48 MiB, 8 in flight. */
    public static final BatchPolicy DEFAULT = new BatchPolicy(
            BackendSettings.DEFAULT_BATCH_MAX_OPS,
            BackendSettings.DEFAULT_BATCH_MAX_BYTES,
            BackendSettings.DEFAULT_BATCH_MAX_IN_FLIGHT);

    public BatchPolicy {
        if (maxOps < 1) {
            throw new IllegalArgumentException("batch maxOps must be at least 1 but was " + maxOps);
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("batch maxBytes must be at least 1 but was " + maxBytes);
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("batch maxInFlight must be at least 1 but was " + maxInFlight);
        }
    }
}
