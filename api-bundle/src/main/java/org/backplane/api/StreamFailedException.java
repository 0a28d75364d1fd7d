package org.backplane.api;

/**
 * The report of a stream failure (S3): thrown exactly once, by the first user-thread call on the
 * stream after the failure was captured, with the original error. The stream is
 * {@link StreamState#POISONED} afterwards and refuses work until it is reset; other streams are
 * unaffected.
 */
public final class StreamFailedException extends StreamErrorException {
    private static final long serialVersionUID = 1L;

    public StreamFailedException(StreamError error) {
        super(
                error,
                "Stream " + error.stream() + " failed: " + error.describe() + ". The stream is now poisoned. "
                        + resetHint(error.stream()));
    }
}
