package org.backplane.spi;

import java.util.Objects;
import org.backplane.api.StreamError;

/**
 * Thrown by a {@link StreamEngine} on the caller's thread ({@code encode}, {@code upload},
 * {@code download}) when the device failed, as opposed to refusing bad input: the SPI captures the
 * error into the stream's slot with its scope and reports it to the caller at once (S3).
 */
public final class EngineFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient StreamError error;
    private final ErrorScope scope;

    /**
     * @param error the error record, built with {@link StreamSink#error}
     * @param scope whether it loses the device
     */
    public EngineFailure(StreamError error, ErrorScope scope) {
        super(Objects.requireNonNull(error, "error").describe());
        this.error = error;
        this.scope = Objects.requireNonNull(scope, "scope");
    }

    public StreamError error() {
        return error;
    }

    public ErrorScope scope() {
        return scope;
    }
}
