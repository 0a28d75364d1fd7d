package org.backplane.api;

/**
 * How a stream is opened (see {@link ExecutionBackend#openStream(String, StreamOptions)}).
 *
 * @param memoryQuotaBytes what this stream's arrays may hold at once, in bytes; 0 takes the
 *     backend's configured stream quota (which may be none). Past it, the stream's next allocation
 *     is its {@link ErrorKind#OUT_OF_MEMORY} and nobody else's (S12).
 */
public record StreamOptions(long memoryQuotaBytes) {
    /** The backend's configured defaults. */
    public static final StreamOptions DEFAULT = new StreamOptions(0);

    public StreamOptions {
        if (memoryQuotaBytes < 0) {
            throw new IllegalArgumentException("memoryQuotaBytes must not be negative but was " + memoryQuotaBytes);
        }
    }

    /** These options with a memory quota of {@code bytes}. */
    public StreamOptions withMemoryQuota(long bytes) {
        return new StreamOptions(bytes);
    }
}
