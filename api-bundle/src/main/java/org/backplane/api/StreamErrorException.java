package org.backplane.api;

import java.util.Objects;

/**
 * Thrown on a user thread because a stream's error slot holds an error: either the report of the
 * error ({@link StreamFailedException}, once) or the refusal that follows it
 * ({@link StreamPoisonedException}). Catch this type to handle both.
 */
public abstract sealed class StreamErrorException extends StreamException
        permits StreamFailedException, StreamPoisonedException {
    private static final long serialVersionUID = 1L;

    private final transient StreamError error;

    StreamErrorException(StreamError error, String message) {
        super(Objects.requireNonNull(error, "error").stream(), message, error.hostException());
        this.error = error;
    }

    /** The original error, as captured (the first one on the stream's generation, S2). */
    public StreamError error() {
        return error;
    }

    static String resetHint(StreamId stream) {
        return "Reset the stream to use it again: ExecutionBackend.reset(" + stream + "), PoisonStateService.reset("
                + stream + ") or the console command 'backplane:reset " + stream + "'.";
    }
}
