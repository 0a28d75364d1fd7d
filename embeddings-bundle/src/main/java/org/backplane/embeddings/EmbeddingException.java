package org.backplane.embeddings;

import org.backplane.api.StreamError;

/**
 * Embeddings could not be computed: a batch failed on its worker stream, and failed again after the
 * stream was reset (or the backend is gone). Carries the stream's error when there was one.
 */
public final class EmbeddingException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient StreamError error;

    public EmbeddingException(String message, StreamError error, Throwable cause) {
        super(message, cause);
        this.error = error;
    }

    /** The worker stream's error, or null when the failure was not a stream's (a stopped backend). */
    public StreamError error() {
        return error;
    }
}
