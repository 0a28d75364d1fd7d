package org.backplane.api;

import java.util.Objects;

/**
 * Identifies a stream across all backends: the backend's id and a number unique within that
 * backend instance. Written {@code cpu:7}.
 *
 * @param backendId the {@code backend.id} of the backend that owns the stream
 * @param number a number unique among the streams that backend instance has opened
 */
public record StreamId(String backendId, long number) {
    public StreamId {
        Objects.requireNonNull(backendId, "backendId");
        if (backendId.isEmpty() || backendId.indexOf(':') >= 0) {
            throw new IllegalArgumentException(
                    "backend id must be non-empty and contain no ':' but was '" + backendId + "'");
        }
        if (number < 1) {
            throw new IllegalArgumentException("stream number must be positive but was " + number);
        }
    }

    /**
     * Parses {@code backend:number}, the form {@link #toString()} writes.
     *
     * @throws IllegalArgumentException if the text is not of that form
     */
    public static StreamId parse(String text) {
        Objects.requireNonNull(text, "text");
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not a stream id; expected backend:number, e.g. cpu:3");
        }
        try {
            return new StreamId(text.substring(0, colon), Long.parseLong(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not a stream id; expected backend:number, e.g. cpu:3");
        }
    }

    @Override
    public String toString() {
        return backendId + ":" + number;
    }
}
