package org.backplane.api;

/**
 * The states of a stream. Transitions: {@code ACTIVE → FAILED} when an error is captured,
 * {@code FAILED → POISONED} when the error has been reported to a user thread,
 * {@code FAILED/POISONED → ACTIVE} on reset (with a new generation), and any state
 * {@code → CLOSED}, which is final.
 */
public enum StreamState {
    /** Healthy: work is accepted and executed. */
    ACTIVE,
    /** An error was captured but not yet reported; the next user call on the stream reports it. */
    FAILED,
    /** The error was reported; every call is refused until the stream is reset. */
    POISONED,
    /** Closed by its owner, or its backend stopped; nothing more is accepted. */
    CLOSED
}
