package org.backplane.spi.internal.stream;

import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamState;
import org.backplane.api.StreamTransition;

/**
 * Reset (S7) and close, including the close a backend's stop forces on its streams (S11). Both
 * wait a bounded time for work in flight, let the engine rebuild or close its native side, and fail
 * whatever the engine never reported, so that no waiter hangs. One reset or close at a time.
 */
final class Lifecycle {
    private static final System.Logger LOG = System.getLogger(Lifecycle.class.getName());

    private final Stream owner;
    private final StreamSlot slot;
    private final Batcher batcher;
    private final Completion completion;
    private final Transitions transitions;
    private final ReentrantLock lock = new ReentrantLock();

    Lifecycle(Stream owner, StreamSlot slot, Batcher batcher, Completion completion, Transitions transitions) {
        this.owner = owner;
        this.slot = slot;
        this.batcher = batcher;
        this.completion = completion;
        this.transitions = transitions;
    }

    /**
     * Resets the stream (S7). A healthy stream is left alone. Safe while other threads submit: they
     * see the old generation's refusal until the new generation is in place.
     */
    void reset(Duration timeout) {
        lock.lock();
        try {
            Generation g = slot.current();
            if (g.state == Generation.ACTIVE) {
                return;
            }
            if (g.isClosingOrClosed()) {
                throw slot.closed(g, null);
            }
            StreamState from = Generation.publicState(g.state);
            long deadline = System.nanoTime() + timeout.toNanos();
            batcher.releaseHolds();
            if (!slot.waiters.await(() -> g.inFlight.get() == 0, timeout.toNanos())) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> "reset of " + owner.id + ": " + g.inFlight.get()
                                + " batches of the failed generation did not finish within " + timeout
                                + "; discarding them");
            }
            owner.engine().rebuild(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            completion.failUnreported(g, g.first);
            slot.encodeLock.lock();
            try {
                batcher.discardOpen(g);
                slot.replace(slot.newGeneration(g.number + 1, batcher.lastSequence()));
            } finally {
                slot.encodeLock.unlock();
            }
            transitions.publish(StreamTransition.Type.RESET, from, g.first);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the stream. With {@code abortError} null, queued work is committed and may finish within
     * {@code timeout}; otherwise (the backend is stopping) running work is stopped and the rest fails
     * with {@code abortError}. Idempotent.
     *
     * @return for a close by the host, the stream's error if nobody has been told of it yet (S13: the
     *     close reports it); otherwise null
     */
    StreamError shutdown(StreamError abortError, Duration timeout) {
        lock.lock();
        try {
            Generation g = slot.current();
            if (g.state == Generation.CLOSED) {
                return null;
            }
            int before;
            StreamState from = Generation.publicState(g.state);
            long deadline = System.nanoTime() + timeout.toNanos();
            if (abortError == null && g.state == Generation.ACTIVE) {
                batcher.flush();
            }
            slot.encodeLock.lock();
            try {
                before = g.state; // under the encode lock: no report (FAILED -> POISONED) can run now
                g.setState(Generation.CLOSING);
                if (abortError != null) {
                    // Everything of this generation not yet reported now ends with the stop's error,
                    // also work a GPU finishes during the stop (it cannot be cancelled there).
                    g.offerError(abortError);
                }
                batcher.discardOpen(g);
                batcher.releaseHolds();
            } finally {
                slot.encodeLock.unlock();
            }
            if (abortError == null && !slot.waiters.await(() -> g.inFlight.get() == 0, timeout.toNanos())) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> "closing " + owner.id + ": work did not finish within " + timeout + "; stopping it");
            }
            StreamError abort = abortError != null
                    ? abortError
                    : g.inFlight.get() == 0
                            ? null
                            : slot.error(ErrorKind.INTERNAL)
                                    .message("the stream was closed before its work finished")
                                    .build();
            slot.hostCopies.writeLock().lock(); // waits for uploads already inside the engine
            try {
                owner.engine().close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), abort);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "engine failed to close stream " + owner.id, e);
            } finally {
                slot.hostCopies.writeLock().unlock();
            }
            completion.failUnreported(
                    g,
                    abort != null
                            ? abort
                            : slot.error(ErrorKind.INTERNAL)
                                    .message("the engine closed without finishing this work")
                                    .build());
            g.setState(Generation.CLOSED);
            slot.waiters.signalAll();
            owner.closed();
            transitions.publish(StreamTransition.Type.CLOSED, from, null);
            return abortError == null && before != Generation.POISONED ? g.first : null;
        } finally {
            lock.unlock();
        }
    }
}
