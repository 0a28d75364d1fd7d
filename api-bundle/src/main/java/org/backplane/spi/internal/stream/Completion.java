package org.backplane.spi.internal.stream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.ResultChecker;

/**
 * How a committed batch ends: exactly once, completed or failed (S1, S6), with its failure captured
 * into its generation's slot (S2) and device loss decided from the error's scope (S9). A batch
 * whose result is sampled for checking, or whose inputs from other streams have not settled, is
 * completed later by the backend's {@link DeferredCompletion}, in the stream's order.
 *
 * <p>Every method here may run on a driver thread: none throws, none blocks (S1).
 */
final class Completion implements DeferredCompletion.Target {
    private static final System.Logger LOG = System.getLogger(Completion.class.getName());

    private final StreamSlot slot;
    private final StreamCounters counters;
    private final BackendContext backend;
    private final CrossStreamInputs inputs;

    Completion(StreamSlot slot, StreamCounters counters, BackendContext backend, CrossStreamInputs inputs) {
        this.slot = slot;
        this.counters = counters;
        this.backend = backend;
        this.inputs = inputs;
    }

    /**
     * The engine finished a batch. If the generation failed meanwhile, the batch's outputs count as
     * failed: they were in flight when the stream failed (S6).
     */
    void completed(BatchImpl batch) {
        try {
            Generation g = batch.generation;
            StreamError failedBefore = g.first;
            if (failedBefore == null && (batch.toVerify > 0 || g.verifying.get() > 0 || !inputs.settled(batch))) {
                DeferredCompletion deferred = backend.deferredCompletion();
                if (deferred != null) {
                    // Released later, in this stream's order: after its check, or once its inputs
                    // from other streams are known good (S6).
                    g.verifying.incrementAndGet();
                    deferred.enqueue(this, batch);
                    return;
                }
            }
            StreamError upstream = inputs.failure(batch);
            if (upstream != null) {
                failed(batch, upstream, ErrorScope.STREAM);
                return;
            }
            finish(batch, failedBefore == null ? BatchImpl.DONE : BatchImpl.FAILED, failedBefore);
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    /** The batch's work failed: captures the error (S2), fails the batch, and loses the device for DEVICE scope (S9). */
    void failed(BatchImpl batch, StreamError error, ErrorScope scope) {
        try {
            if (batch.status == BatchImpl.COMMITTED) {
                count(batch, false); // before the report wakes anyone: a snapshot then already shows it
            }
            slot.capture(batch.generation, error);
            finish(batch, BatchImpl.FAILED, error);
            backend.reach(error, scope);
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    /** The engine skipped the batch because its generation failed or was replaced: it fails with that error (S6). */
    void discarded(BatchImpl batch) {
        try {
            StreamError cause = batch.generation.first;
            if (cause == null) {
                failed(
                        batch,
                        slot.error(ErrorKind.INTERNAL)
                                .message("the engine discarded work of a healthy generation")
                                .batch(batch)
                                .build(),
                        ErrorScope.STREAM);
            } else {
                finish(batch, BatchImpl.FAILED, cause);
            }
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    @Override
    public boolean inputsSettled(BatchImpl batch) {
        return inputs.settled(batch);
    }

    /**
     * On the deferred-completion thread, once the batch's foreign inputs have settled: fails it if
     * one of them is unusable (S6), checks its sampled ops, then releases it or fails it with
     * {@link ErrorKind#VERIFICATION_MISMATCH}.
     */
    @Override
    public void checkAndFinish(BatchImpl batch, ResultChecker checker) {
        Generation g = batch.generation;
        try {
            StreamError upstream = inputs.failure(batch);
            if (upstream != null) {
                failed(batch, upstream, ErrorScope.STREAM);
                return;
            }
            String mismatch = null;
            CommandImpl bad = null;
            if (checker != null && g.first == null) {
                for (int i = 0; i < batch.size() && mismatch == null; i++) {
                    CommandImpl c = batch.commandImpl(i);
                    if (c.verify) {
                        mismatch = check(checker, c);
                        bad = c;
                    }
                }
            }
            if (mismatch != null) {
                failed(
                        batch,
                        slot.error(ErrorKind.VERIFICATION_MISMATCH)
                                .message(mismatch)
                                .command(bad)
                                .batch(batch)
                                .build(),
                        ErrorScope.STREAM);
            } else {
                StreamError failedBefore = g.first;
                finish(batch, failedBefore == null ? BatchImpl.DONE : BatchImpl.FAILED, failedBefore);
            }
        } finally {
            g.verifying.decrementAndGet();
            slot.waiters.signalAll();
        }
    }

    /** Runs the checker on host copies of an op's data; a checker that fails checks nothing. */
    private static String check(ResultChecker checker, CommandImpl c) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] data = new MemorySegment[c.inputCount()];
            for (int i = 0; i < data.length; i++) {
                data[i] = hostCopy(c.input(i), arena);
            }
            return checker.check(c, data, hostCopy(c.output(), arena));
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "result checker failed on " + c + "; the op is not checked", t);
            return null;
        }
    }

    /**
     * The array's elements on the host, row-major, read through its own stream's engine (which reads
     * whole arrays; a view's elements are then picked from its root's).
     */
    private static MemorySegment hostCopy(ArrayImpl a, Arena arena) {
        ArrayImpl root = a.rootArray();
        MemorySegment all = arena.allocate(Math.max(1, root.byteSize()), 8).asSlice(0, root.byteSize());
        root.owner.engine().download(root, all);
        if (root == a) {
            return all;
        }
        int size = a.dtype().byteSize();
        MemorySegment out = arena.allocate(Math.max(1, a.byteSize()), 8).asSlice(0, a.byteSize());
        for (long i = 0; i < a.size(); i++) {
            MemorySegment.copy(all, a.layout().position(a.shape(), i) * size, out, i * size, size);
        }
        return out;
    }

    /** Ends a committed batch exactly once; a second report of the same batch changes nothing. */
    void finish(BatchImpl batch, int status, StreamError error) {
        if (!batch.casStatus(BatchImpl.COMMITTED, status)) {
            return;
        }
        Generation g = batch.generation;
        if (status == BatchImpl.DONE) {
            long last = batch.lastSequence();
            if (last > g.completedSequence) {
                g.completedSequence = last;
            }
            count(batch, true);
        } else {
            batch.error = error;
            count(batch, false);
        }
        batch.release();
        g.unfinished.remove(batch);
        g.inFlight.decrementAndGet();
        slot.waiters.signalAll();
        backend.settled();
    }

    /** Counts the batch's ops as completed or failed, once. */
    private void count(BatchImpl batch, boolean completed) {
        if (batch.counted.compareAndSet(false, true)) {
            (completed ? counters.completed : counters.failed).addAndGet(batch.size());
        }
    }

    /** Fails the batches of {@code g} that its engine never reported (after a close or reset). */
    void failUnreported(Generation g, StreamError error) {
        for (BatchImpl b : g.unfinished) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> "engine of " + b.owner.id + " never reported " + b.describe() + "; failing it");
            finish(b, BatchImpl.FAILED, error);
        }
    }
}
