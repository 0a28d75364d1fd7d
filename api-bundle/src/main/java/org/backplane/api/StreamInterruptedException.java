package org.backplane.api;

/**
 * Thrown when a thread waiting for work on a stream is interrupted. The thread's interrupt status
 * is set again; the stream and its work are unaffected.
 */
public final class StreamInterruptedException extends StreamException {
    private static final long serialVersionUID = 1L;

    public StreamInterruptedException(StreamId stream, String what) {
        super(
                stream,
                "Interrupted while waiting for " + what + " on stream " + stream
                        + "; the work continues and the stream is unaffected.");
    }
}
