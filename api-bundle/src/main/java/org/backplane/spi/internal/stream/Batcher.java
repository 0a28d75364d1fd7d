package org.backplane.spi.internal.stream;

import java.util.ArrayDeque;
import org.backplane.api.DType;
import org.backplane.api.ErrorKind;
import org.backplane.api.Shape;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.api.fault.Hold;
import org.backplane.spi.BatchPolicy;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.Op;
import org.backplane.spi.ResultChecker;

/**
 * Turns submitted ops into command buffers: numbers each op, lets the engine encode it under the
 * encode lock, commits the open batch after {@code maxOps} ops or {@code maxBytes} of output (or when
 * asked), and bounds the batches in flight (back-pressure). Nothing is encoded or committed once the
 * stream failed (S4). A test's {@link Hold} keeps committed batches here, in flight, until released.
 */
final class Batcher {
    private static final System.Logger LOG = System.getLogger(Batcher.class.getName());

    private final Stream owner;
    private final StreamSlot slot;
    private final Completion completion;
    private final StreamCounters counters;
    private final BackendContext backend;
    private final BatchPolicy policy;
    /** The batch ops are being added to; guarded by the encode lock. */
    private BatchImpl open;
    /** Guarded by the encode lock. */
    private long nextSequence = 1;
    /** Guarded by the encode lock. */
    private long nextBatchId = 1;
    /** A test's hold (guarded by the encode lock): committed batches wait in {@link #held} until it is released. */
    private StreamHold hold;

    private final ArrayDeque<BatchImpl> held = new ArrayDeque<>();

    Batcher(Stream owner, StreamSlot slot, Completion completion, StreamCounters counters, BackendContext backend) {
        this.owner = owner;
        this.slot = slot;
        this.completion = completion;
        this.counters = counters;
        this.backend = backend;
        this.policy = backend.settings().batching();
    }

    /** Queues one op: the caller-thread half of every op. Inputs are validated by the caller. */
    ArrayImpl submit(Op op, Shape outShape, DType outType, ArrayImpl... inputs) {
        backend.checkCapacity(outShape, outType);
        for (ArrayImpl in : inputs) {
            if (in.owner != owner) {
                in.owner.batcher.commitIfOpen(in.producer); // so our engine never waits on a batch nobody commits
            }
        }
        slot.enter();
        slot.encodeLock.lock();
        try {
            Generation g = slot.current();
            if (g.state != Generation.ACTIVE) {
                g = slot.enterSlow(); // re-check under the lock (S4)
            }
            for (ArrayImpl in : inputs) {
                Generation ig = in.owner.slot.current();
                if (in.generation != ig) {
                    throw new StaleGenerationException(
                            in.owner.id,
                            "Input array " + in.shape(),
                            in.generation.number,
                            ig.number,
                            in.generation.first);
                }
            }
            makeRoomFor(g, outShape.size() * outType.byteSize());
            long sequence = nextSequence;
            BatchImpl batch = open;
            if (batch == null) {
                batch = new BatchImpl(owner, g, nextBatchId++);
                open = batch;
            }
            ArrayImpl out = new ArrayImpl(owner, g, outShape, outType, batch);
            FaultRule fault = backend.injectedFault(owner.id, owner.label, sequence);
            CommandImpl command = new CommandImpl(sequence, op, inputs, out, fault);
            String refused = backend.memory().charge(owner.memory, out, out.byteSize());
            if (refused != null) {
                // S12: this stream's OUT_OF_MEMORY, reported at once (S3); nobody else notices
                throw failedAtEncode(
                        g,
                        command,
                        slot.error(ErrorKind.OUT_OF_MEMORY)
                                .message(refused)
                                .command(command)
                                .build(),
                        ErrorScope.STREAM);
            }
            ResultChecker checker = backend.resultChecker();
            if (checker != null && sampled(checker, command)) {
                command.verify = true;
                batch.toVerify++;
            }
            encode(g, batch, command);
            nextSequence = sequence + 1;
            batch.add(command);
            counters.submitted.incrementAndGet();
            if (batch.size() >= policy.maxOps() || batch.bytes() >= policy.maxBytes()) {
                commitOpenLocked();
            }
            return out;
        } finally {
            slot.encodeLock.unlock();
        }
    }

    /**
     * Lets the engine encode the op. An {@link IllegalArgumentException} is the device refusing bad
     * input: it reaches the caller and poisons nothing. An {@link EngineFailure}, or any other
     * failure, is captured (S1) and reported to the caller at once (S3).
     */
    private void encode(Generation g, BatchImpl batch, CommandImpl command) {
        try {
            owner.engine().encode(batch, command);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (EngineFailure e) {
            throw failedAtEncode(g, command, e.error(), e.scope());
        } catch (RuntimeException e) {
            throw failedAtEncode(
                    g,
                    command,
                    slot.error(ErrorKind.INTERNAL)
                            .message("encoding failed: " + e)
                            .command(command)
                            .cause(e)
                            .build(),
                    ErrorScope.STREAM);
        }
    }

    /**
     * An op refused before it reached the engine's queue (its memory refused, or the engine could not
     * encode it) was still submitted and failed: it counts as both, and its sequence number is used
     * up, so that op numbers never repeat within the stream's life, across resets too (S13). The ops
     * queued before it will never run: they fail with it (S4). Returns the report to throw (S3).
     */
    private RuntimeException failedAtEncode(Generation g, CommandImpl command, StreamError error, ErrorScope scope) {
        nextSequence = command.sequence() + 1;
        counters.submitted.incrementAndGet();
        counters.failed.incrementAndGet();
        RuntimeException report = slot.report(g, error, scope);
        discardOpen(g);
        return report;
    }

    private static boolean sampled(ResultChecker checker, CommandImpl command) {
        try {
            return checker.wants(command);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "result checker failed to sample " + command, e);
            return false;
        }
    }

    /** Commits the open batch if it is {@code batch}; used when another stream consumes its output. */
    void commitIfOpen(BatchImpl batch) {
        if (batch == null || batch.status != BatchImpl.OPEN) {
            return;
        }
        slot.encodeLock.lock();
        try {
            if (open == batch) {
                commitOpenLocked();
            }
        } finally {
            slot.encodeLock.unlock();
        }
    }

    /** Commits the open batch; returns the sequence number of the last op submitted so far. */
    long flush() {
        slot.encodeLock.lock();
        try {
            commitOpenLocked();
            return nextSequence - 1;
        } finally {
            slot.encodeLock.unlock();
        }
    }

    /**
     * Before an output that would not fit this stream's memory: the outputs of its own queued work
     * that nobody holds any more can only be given back once that work is done, so commit it and wait
     * for it (bounded by the reset timeout) rather than refuse at once. The caller holds the encode lock.
     */
    private void makeRoomFor(Generation g, long bytes) {
        if (backend.memory().fits(owner.memory, bytes) || (open == null && g.inFlight.get() == 0)) {
            return;
        }
        commitOpenLocked();
        slot.waiters.await(
                () -> g.inFlight.get() == 0 || g.state != Generation.ACTIVE || hold != null,
                backend.settings().resetTimeout().toNanos());
    }

    /** The sequence number of the last op submitted so far; the caller holds the encode lock. */
    long lastSequence() {
        return nextSequence - 1;
    }

    private void commitOpenLocked() {
        BatchImpl batch = open;
        if (batch == null) {
            return;
        }
        open = null;
        if (batch.size() == 0) {
            batch.status = BatchImpl.DONE;
            return;
        }
        Generation g = batch.generation;
        // Back-pressure: a bounded number of batches in flight per stream (not while a test holds
        // the stream: only releasing the hold could end the wait, and that needs this lock).
        slot.waiters.awaitUninterruptibly(
                () -> g.inFlight.get() < policy.maxInFlight() || g.state != Generation.ACTIVE || hold != null);
        if (g.state != Generation.ACTIVE || g != slot.current()) {
            discard(batch, g); // S4: nothing reaches the engine once the stream failed
            return;
        }
        g.inFlight.incrementAndGet();
        g.unfinished.add(batch);
        batch.status = BatchImpl.COMMITTED;
        if (hold != null) {
            held.add(batch);
            return;
        }
        commitToEngine(batch);
    }

    private void commitToEngine(BatchImpl batch) {
        try {
            owner.engine().commit(batch);
        } catch (Throwable t) {
            completion.failed(
                    batch,
                    slot.error(ErrorKind.INTERNAL)
                            .message("the engine failed to commit the batch: " + t)
                            .batch(batch)
                            .cause(t)
                            .build(),
                    ErrorScope.STREAM);
        }
    }

    /** Drops the open batch of generation {@code g} (reset, close); the caller holds the encode lock. */
    void discardOpen(Generation g) {
        BatchImpl pending = open;
        open = null;
        if (pending != null) {
            discard(pending, g);
        }
    }

    private void discard(BatchImpl batch, Generation g) {
        batch.error = g.first;
        batch.status = BatchImpl.FAILED;
        counters.failed.addAndGet(batch.size());
        tellEngineDiscarded(batch);
        batch.release();
        slot.waiters.signalAll();
    }

    /** Lets the engine free what it attached to a batch that will never run; its failure is only logged. */
    private void tellEngineDiscarded(BatchImpl batch) {
        try {
            owner.engine().discarded(batch);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "engine failed to discard " + batch, e);
        }
    }

    // ------------------------------------------------------------------ holds (a test aid)

    /** See {@link org.backplane.api.fault.FaultInjector#hold}. */
    Hold hold() {
        slot.encodeLock.lock();
        try {
            if (slot.current().isClosingOrClosed()) {
                throw slot.closed(slot.current(), null);
            }
            if (hold != null) {
                throw new IllegalStateException("stream " + owner.id + " is already held");
            }
            hold = new StreamHold(this);
            return hold;
        } finally {
            slot.encodeLock.unlock();
        }
    }

    /** The hold ended: the batches it kept go to the engine in order (or fail, if the stream failed meanwhile). */
    void holdReleased(StreamHold released) {
        slot.encodeLock.lock();
        try {
            if (hold != released) {
                return;
            }
            hold = null;
            BatchImpl batch;
            while ((batch = held.poll()) != null) {
                Generation g = batch.generation;
                if (g == slot.current() && (g.state == Generation.ACTIVE || g.state == Generation.CLOSING)) {
                    commitToEngine(batch);
                } else {
                    tellEngineDiscarded(batch);
                    completion.failed(
                            batch,
                            g.first != null
                                    ? g.first
                                    : slot.error(ErrorKind.INTERNAL)
                                            .message("the stream was reset while this work was held")
                                            .batch(batch)
                                            .build(),
                            ErrorScope.STREAM);
                }
            }
        } finally {
            slot.encodeLock.unlock();
        }
    }

    /** Closing, resetting and stopping never wait for a test's hold. */
    void releaseHolds() {
        StreamHold h;
        slot.encodeLock.lock();
        try {
            h = hold;
        } finally {
            slot.encodeLock.unlock();
        }
        if (h != null) {
            h.release();
        }
    }
}
