package org.backplane.api;

import java.util.Objects;

/** An exception about one stream. */
public class StreamException extends BackplaneException {
    private static final long serialVersionUID = 1L;

    private final StreamId stream;

    public StreamException(StreamId stream, String message) {
        this(stream, message, null);
    }

    public StreamException(StreamId stream, String message, Throwable cause) {
        super(message, cause);
        this.stream = Objects.requireNonNull(stream, "stream");
    }

    /** The stream this is about. */
    public StreamId stream() {
        return stream;
    }
}
