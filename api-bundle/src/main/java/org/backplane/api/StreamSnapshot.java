package org.backplane.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable picture of one stream at one moment (S8).
 *
 * @param id the stream's id
 * @param label the label it was opened with
 * @param state its state
 * @param generation starts at 1 and grows by one with each reset; arrays of older generations are
 *     invalid
 * @param firstError the error in the slot (the first of this generation, S2), or null when healthy
 * @param suppressedErrors how many later errors of this generation were counted, not kept as first
 * @param suppressed a few of those later errors (the earliest ones), possibly empty
 * @param opsSubmitted ops submitted over the stream's lifetime
 * @param opsCompleted ops that completed successfully
 * @param opsFailed ops that failed, were discarded because the stream failed, or were stopped
 * @param memoryBytes what the stream's arrays hold now (closed or unreachable ones are not counted)
 * @param memoryQuotaBytes what they may hold at most; 0: no quota of its own (S12)
 * @param memoryReserveBytes what the backend keeps for the stream (S12): the most its arrays held at
 *     once lately, at least the backend's minimum reserve; it can always allocate up to this
 * @param createdAt when the stream was opened
 * @param stateSince when the stream entered its current state
 */
public record StreamSnapshot(
        StreamId id,
        String label,
        StreamState state,
        long generation,
        StreamError firstError,
        long suppressedErrors,
        List<StreamError> suppressed,
        long opsSubmitted,
        long opsCompleted,
        long opsFailed,
        long memoryBytes,
        long memoryQuotaBytes,
        long memoryReserveBytes,
        Instant createdAt,
        Instant stateSince) {

    public StreamSnapshot {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        label = label == null ? "" : label;
        suppressed = suppressed == null ? List.of() : List.copyOf(suppressed);
    }

    /** As before the reserve was shown: a snapshot whose reserve is unknown (0). */
    public StreamSnapshot(
            StreamId id,
            String label,
            StreamState state,
            long generation,
            StreamError firstError,
            long suppressedErrors,
            List<StreamError> suppressed,
            long opsSubmitted,
            long opsCompleted,
            long opsFailed,
            long memoryBytes,
            long memoryQuotaBytes,
            Instant createdAt,
            Instant stateSince) {
        this(
                id,
                label,
                state,
                generation,
                firstError,
                suppressedErrors,
                suppressed,
                opsSubmitted,
                opsCompleted,
                opsFailed,
                memoryBytes,
                memoryQuotaBytes,
                0,
                createdAt,
                stateSince);
    }

    /** The backend that owns the stream. */
    public String backendId() {
        return id.backendId();
    }

    /** The error in the slot, if any. */
    public Optional<StreamError> error() {
        return Optional.ofNullable(firstError);
    }

    /** True when the stream accepts work. */
    public boolean isHealthy() {
        return state == StreamState.ACTIVE;
    }
}
