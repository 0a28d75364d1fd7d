package org.backplane.api;

/**
 * Thrown by every call on a poisoned stream (S4), after the failure was reported once by
 * {@link StreamFailedException}. Nothing is encoded or executed for the stream until it is reset.
 */
public final class StreamPoisonedException extends StreamErrorException {
    private static final long serialVersionUID = 1L;

    public StreamPoisonedException(StreamError error) {
        super(
                error,
                "Stream " + error.stream() + " is poisoned by an earlier failure, which was already reported: "
                        + error.describe() + ". No work runs on it until it is reset. " + resetHint(error.stream()));
    }
}
