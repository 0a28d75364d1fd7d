package org.backplane.api;

/**
 * Thrown when a closed stream is used: closed by its owner, or because its backend stopped. A
 * closed stream cannot be reopened; open a new one.
 */
public class StreamClosedException extends StreamException {
    private static final long serialVersionUID = 1L;

    private final transient StreamError error;

    public StreamClosedException(StreamId stream, String message) {
        this(stream, message, null);
    }

    /**
     * @param error the failure that ended the awaited work when the stream closed (for example
     *     {@link ErrorKind#BACKEND_STOPPED}), or null
     */
    public StreamClosedException(StreamId stream, String message, StreamError error) {
        super(stream, message, error == null ? null : error.hostException());
        this.error = error;
    }

    /** The failure that ended the awaited work, or null if the stream simply closed. */
    public StreamError error() {
        return error;
    }
}
