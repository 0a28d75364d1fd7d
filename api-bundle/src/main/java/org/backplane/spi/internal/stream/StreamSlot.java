package org.backplane.spi.internal.stream;

import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.backplane.api.ErrorKind;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamError;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamId;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.ErrorScope;

/**
 * A stream's error slot and state machine: capture (S1, S2), the report once (S3) and the refusals
 * after it (S4), and what a caller sees after waiting for work. The slot belongs to the current
 * {@link Generation}; a reset puts a new one in place.
 *
 * <p><b>Healthy path.</b> The entry check of every user call is two volatile reads (the current
 * generation and its state): no lock, no allocation.
 *
 * <p><b>Encode lock.</b> Held while an op is encoded or a batch committed. The FAILED → POISONED
 * transition takes it, so that once the state reads POISONED no encode is under way and none
 * starts: no native call touches the stream's queue until reset (S4). Never taken on a driver
 * thread.
 */
final class StreamSlot {
    private static final System.Logger LOG = System.getLogger(StreamSlot.class.getName());

    private final StreamId id;
    private final String label;
    private final BackendContext backend;
    private final Transitions transitions;
    final ReentrantLock encodeLock = new ReentrantLock();
    /**
     * Held (shared) by uploads while they are inside the engine, and (exclusive) by the close that
     * ends the engine: a GPU engine's upload uses native queues that closing destroys.
     */
    final ReentrantReadWriteLock hostCopies = new ReentrantReadWriteLock();

    final Waiters waiters = new Waiters();
    private volatile Generation current;

    StreamSlot(StreamId id, String label, BackendContext backend, Transitions transitions) {
        this.id = id;
        this.label = label;
        this.backend = backend;
        this.transitions = transitions;
        this.current = newGeneration(1, 0);
    }

    /** A generation, with the error it fails with when nothing else can be allocated. */
    Generation newGeneration(long number, long completedSequence) {
        StreamError heapExhausted = new ErrorBuilder(backend.id(), id, label, number, ErrorKind.OUT_OF_MEMORY)
                .message("the Java heap was exhausted: not even this error's details could be recorded")
                .build();
        return new Generation(number, completedSequence, heapExhausted);
    }

    Generation current() {
        return current;
    }

    /** Puts a fresh generation in place (reset, S7); the caller holds the encode lock. */
    void replace(Generation next) {
        current = next;
        waiters.signalAll();
    }

    /** Starts an error record of the current generation. */
    ErrorBuilder error(ErrorKind kind) {
        return new ErrorBuilder(backend.id(), id, label, current.number, kind);
    }

    // ------------------------------------------------------------------ entry checks (S3, S4)

    /**
     * The error check of every user call: returns the current generation if it is healthy, else
     * throws the report (once) or the refusal. Hot path: two volatile reads.
     */
    Generation enter() {
        Generation g = current;
        if (g.state == Generation.ACTIVE) {
            return g;
        }
        return enterSlow();
    }

    Generation enterSlow() {
        for (; ; ) {
            Generation g = current;
            if (g.state == Generation.ACTIVE) {
                return g;
            }
            RuntimeException refused = refusal(g);
            if (!(refused instanceof StaleGenerationException)) {
                throw refused;
            }
            // a reset replaced the generation meanwhile: look at the new one
        }
    }

    /**
     * The exception for a call on failed generation {@code g}: the report if this call is the first
     * to see it (S3), the refusal otherwise (S4), or staleness if a reset replaced {@code g}.
     */
    RuntimeException refusal(Generation g) {
        for (; ; ) {
            if (current != g) {
                return new StaleGenerationException(id, "Work", g.number, current.number, g.first);
            }
            switch (g.state) {
                case Generation.FAILED -> {
                    boolean reported;
                    encodeLock.lock();
                    try {
                        reported = g == current && g.casState(Generation.FAILED, Generation.POISONED);
                    } finally {
                        encodeLock.unlock();
                    }
                    if (reported) {
                        transitions.publish(StreamTransition.Type.POISONED, StreamState.FAILED, g.first);
                        return new StreamFailedException(g.first);
                    }
                }
                case Generation.POISONED -> {
                    return new StreamPoisonedException(g.first);
                }
                case Generation.ACTIVE -> Thread.onSpinWait();
                default -> {
                    return closed(g, null);
                }
            }
        }
    }

    /**
     * After a wait for work of generation {@code g} (and batch {@code batch}, if one): returns if the
     * work completed, otherwise throws what the contract says the caller sees.
     */
    void finishAwait(Generation g, BatchImpl batch, String what) {
        for (; ; ) {
            Generation now = current;
            if (now != g) {
                throw new StaleGenerationException(id, "Work awaited by " + what, g.number, now.number, g.first);
            }
            int state = g.state;
            if (g.isClosingOrClosed()) {
                StreamError workError = batch != null && batch.status == BatchImpl.FAILED
                        ? batch.error
                        : g.first; // a failed generation's arrays stay refused after close (S13)
                if (workError != null || (batch != null && batch.status != BatchImpl.DONE)) {
                    throw closed(g, workError);
                }
                return;
            }
            if (g.first == null && state == Generation.ACTIVE) {
                return;
            }
            if (state == Generation.ACTIVE) {
                Thread.onSpinWait(); // the capturing thread is between recording the error and marking the state
                continue;
            }
            throw refusal(g);
        }
    }

    /** The refusal of a closed stream, naming the stop or the awaited work's error when there is one. */
    StreamClosedException closed(Generation g, StreamError workError) {
        boolean stopped = backend.isStopped();
        String reason = stopped ? "its backend '" + backend.id() + "' was stopped" : "it was closed";
        StreamError kind = workError;
        if (kind == null && g.first != null && g.first.kind() == ErrorKind.BACKEND_STOPPED) {
            kind = g.first;
        }
        if (kind == null && stopped) {
            // Closed by the stop with nothing of its own in flight (or opened while the stop ran):
            // the caller still learns that it was the stop, as a BACKEND_STOPPED error.
            kind = error(ErrorKind.BACKEND_STOPPED)
                    .message("backend '" + backend.id() + "' was stopped")
                    .build();
        }
        return new StreamClosedException(
                id,
                "Stream " + id + " '" + label + "' is closed: " + reason
                        + (workError != null ? "; the awaited work failed: " + workError.describe() : "")
                        + ". Open a new stream.",
                kind);
    }

    // ------------------------------------------------------------------ capture (S1, S2)

    /**
     * Records an error in {@code g}'s slot. Never throws, never blocks (S1). The first error of a
     * generation wins; later ones are counted (S2). Returns whether this error was the first.
     */
    boolean capture(Generation g, StreamError error) {
        boolean first = false;
        try {
            first = g.offerError(error);
            if (first && g.casState(Generation.ACTIVE, Generation.FAILED)) {
                transitions.publish(StreamTransition.Type.FAILED, StreamState.ACTIVE, error);
            }
        } catch (Throwable t) {
            safeLog(t); // e.g. an OutOfMemoryError while publishing: the error is in the slot all the same
        } finally {
            try {
                waiters.signalAll(); // no waiter may miss the failure (S13), whatever failed above
            } catch (Throwable t) {
                // waiters look again within milliseconds by themselves
            }
        }
        return first;
    }

    /**
     * Captures an error not tied to a committed batch (fault injection, device loss) into the
     * generation it was raised against (S13). If a reset replaced that generation meanwhile, the
     * error belongs to the discarded one and must not poison the fresh one: it is dropped, and
     * false returned. Never throws (S1).
     */
    boolean raise(StreamError error) {
        Generation g = current;
        if (g.number != error.generation()) {
            try {
                LOG.log(
                        System.Logger.Level.DEBUG,
                        () -> "dropped an error raised against generation " + error.generation() + " of " + id
                                + ", which a reset replaced with generation " + g.number + ": " + error.describe());
            } catch (Throwable t) {
                // logging must not throw onto the raising thread
            }
            return false;
        }
        return capture(g, error);
    }

    /**
     * An engine failure met on the caller's thread (an upload, a download, an encode): captured with
     * its scope (S9) and returned as the report to throw at once (S3).
     */
    RuntimeException report(Generation g, EngineFailure e) {
        return report(g, e.error(), e.scope());
    }

    /** Captures {@code error}, reaching as far as {@code scope}, and returns the report to throw at once. */
    RuntimeException report(Generation g, StreamError error, ErrorScope scope) {
        capture(g, error);
        backend.reach(error, scope);
        return refusal(g);
    }

    /** Logs a failure met while capturing; nothing may escape onto a driver thread. */
    static void safeLog(Throwable t) {
        try {
            LOG.log(System.Logger.Level.ERROR, "Backplane failed while capturing a stream error; continuing", t);
        } catch (Throwable ignored) {
            // nothing more can be done without risking the calling (driver) thread
        }
    }
}
