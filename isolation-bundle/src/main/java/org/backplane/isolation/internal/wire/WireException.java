package org.backplane.isolation.internal.wire;

/** A message that does not read as the protocol says: a bug, or not our peer. */
public final class WireException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WireException(String message) {
        super(message);
    }

    public WireException(String message, Throwable cause) {
        super(message, cause);
    }
}
