package org.backplane.api;

import java.time.Instant;
import java.util.Objects;

/**
 * One observable change of a stream or its backend (S8), as delivered to
 * {@link StreamStateListener}s and posted as events.
 *
 * @param type what happened
 * @param from the stream's state before
 * @param snapshot the stream right after the transition
 * @param error the error involved (the captured one for {@code FAILED}, {@code POISONED} and
 *     {@code DEVICE_LOST}), or null
 * @param at when the transition happened
 */
public record StreamTransition(Type type, StreamState from, StreamSnapshot snapshot, StreamError error, Instant at) {

    /** The kinds of transition. */
    public enum Type {
        /** A stream was opened ({@code → ACTIVE}). */
        OPENED,
        /** An error was captured ({@code ACTIVE → FAILED}). */
        FAILED,
        /** The error was reported to a user thread ({@code FAILED → POISONED}). */
        POISONED,
        /** The stream was reset ({@code → ACTIVE}, new generation). */
        RESET,
        /** The stream was closed ({@code → CLOSED}). */
        CLOSED,
        /** The backend's device was lost; sent once per stream it poisoned (S9). */
        DEVICE_LOST
    }

    public StreamTransition {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(snapshot, "snapshot");
        Objects.requireNonNull(at, "at");
    }

    public StreamId stream() {
        return snapshot.id();
    }
}
