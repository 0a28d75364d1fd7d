package org.backplane.spi.internal.stream;

import java.lang.foreign.MemorySegment;
import org.backplane.api.StaleGenerationException;
import org.backplane.api.StreamInterruptedException;
import org.backplane.spi.EngineFailure;

/**
 * The waiting half of a stream's façade: {@code eval}, {@code synchronize} and reading an array.
 * Each waits for the work it needs and then throws what the contract says the caller sees (S3, S4,
 * S6, S7), or copies the data out.
 */
final class Reads {
    private final Stream owner;
    private final StreamSlot slot;
    private final Batcher batcher;
    private final Ops ops;

    Reads(Stream owner, Ops ops) {
        this.owner = owner;
        this.slot = owner.slot;
        this.batcher = owner.batcher;
        this.ops = ops;
    }

    /** Waits for arrays of this stream (already checked to be its own). */
    void eval(ArrayImpl[] own) {
        Generation g = slot.enter();
        for (ArrayImpl a : own) {
            checkCurrent(a, g);
        }
        batcher.flush();
        for (ArrayImpl a : own) {
            awaitArray(a);
            slot.finishAwait(a.generation, a.producer, "eval");
        }
    }

    void synchronize() {
        Generation g = slot.enter();
        long target = batcher.flush();
        if (!slot.waiters.await(() -> g.completedSequence >= target
                || g.first != null
                || slot.current() != g
                || (g.isClosingOrClosed() && g.inFlight.get() == 0))) {
            throw new StreamInterruptedException(owner.id, "synchronize");
        }
        slot.finishAwait(g, null, "synchronize");
    }

    /** Reads {@code a} into {@code target} after its producing work ended (user thread). */
    void read(ArrayImpl a, MemorySegment target) {
        if (a.closed) {
            throw new IllegalStateException("array " + a.shape() + " of stream " + owner.id + " was closed");
        }
        Generation g = slot.current();
        if (g.state != Generation.ACTIVE && !(g.isClosingOrClosed() && a.generation == g)) {
            slot.enterSlow();
        }
        checkCurrent(a, slot.current());
        if (!a.isRowMajor()) {
            a = ops.contiguous(a); // a strided view is copied, then read
        }
        batcher.commitIfOpen(a.producer);
        awaitArray(a);
        slot.finishAwait(a.generation, a.producer, "array read");
        try {
            owner.engine().download(a, target);
        } catch (EngineFailure e) {
            throw slot.report(a.generation, e);
        }
    }

    private void checkCurrent(ArrayImpl a, Generation g) {
        if (a.generation != g) {
            throw new StaleGenerationException(
                    owner.id, "Array " + a.shape(), a.generation.number, g.number, a.generation.first);
        }
    }

    private void awaitArray(ArrayImpl a) {
        if (a.producer != null && !a.isSettled()) {
            owner.engine().expediteCompletion(a.producer);
        }
        if (!slot.waiters.await(a::isSettled)) {
            throw new StreamInterruptedException(owner.id, "array " + a.shape());
        }
    }
}
