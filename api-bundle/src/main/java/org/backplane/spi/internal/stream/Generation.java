package org.backplane.spi.internal.stream;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.StreamError;
import org.backplane.api.StreamState;

/**
 * One generation of a stream: its state and its error slot (S2: the first error wins). A reset (S7)
 * replaces the stream's generation with a fresh one, so late errors from discarded work land in the
 * old slot and can never poison the new generation; arrays keep a reference to the generation that
 * made them.
 */
final class Generation {
    static final int ACTIVE = 0;
    static final int FAILED = 1;
    static final int POISONED = 2;
    /** Refusing work while a close or stop finishes; shown as CLOSED. */
    static final int CLOSING = 3;

    static final int CLOSED = 4;

    /** How many errors after the first are kept (all are counted). */
    static final int SUPPRESSED_KEPT = 4;

    private static final VarHandle STATE;
    private static final VarHandle FIRST;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(Generation.class, "state", int.class);
            FIRST = lookup.findVarHandle(Generation.class, "first", StreamError.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long number;
    /**
     * The error a batch of this generation fails with when not even an error can be allocated (heap
     * exhaustion on a worker): made with the generation, so that it names the right one (S13).
     */
    final StreamError heapExhausted;

    volatile int state;
    volatile StreamError first;
    volatile Instant stateSince;
    /** Highest op sequence number completed successfully in this generation. */
    volatile long completedSequence;
    /** Committed batches of this generation not yet completed or failed. */
    final AtomicInteger inFlight = new AtomicInteger();
    /** Batches of this generation waiting for result checking; later batches queue behind them. */
    final AtomicInteger verifying = new AtomicInteger();
    /** The same batches, so that the SPI can fail any an engine never reports (no waiter may hang). */
    final Set<BatchImpl> unfinished = ConcurrentHashMap.newKeySet();

    final AtomicLong suppressedCount = new AtomicLong();
    final ConcurrentLinkedQueue<StreamError> suppressed = new ConcurrentLinkedQueue<>();

    Generation(long number, long completedSequence, StreamError heapExhausted) {
        this.number = number;
        this.heapExhausted = heapExhausted;
        this.completedSequence = completedSequence;
        this.stateSince = Instant.now();
    }

    boolean casState(int expected, int next) {
        if (STATE.compareAndSet(this, expected, next)) {
            stateSince = Instant.now();
            return true;
        }
        return false;
    }

    void setState(int next) {
        state = next;
        stateSince = Instant.now();
    }

    /** S2: the first error wins; later ones are counted and a few kept. Returns true if first. */
    boolean offerError(StreamError error) {
        if (FIRST.compareAndSet(this, null, error)) {
            return true;
        }
        if (suppressedCount.incrementAndGet() <= SUPPRESSED_KEPT) {
            suppressed.add(error);
        }
        return false;
    }

    boolean isClosingOrClosed() {
        int s = state;
        return s == CLOSING || s == CLOSED;
    }

    List<StreamError> suppressedErrors() {
        return List.copyOf(suppressed);
    }

    static StreamState publicState(int state) {
        return switch (state) {
            case ACTIVE -> StreamState.ACTIVE;
            case FAILED -> StreamState.FAILED;
            case POISONED -> StreamState.POISONED;
            default -> StreamState.CLOSED;
        };
    }
}
