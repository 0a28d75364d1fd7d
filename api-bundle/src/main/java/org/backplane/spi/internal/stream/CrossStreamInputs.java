package org.backplane.spi.internal.stream;

import java.util.function.BooleanSupplier;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;

/**
 * S6 across streams: work that consumes another stream's array waits for it, and fails with
 * {@code UPSTREAM_FAILURE} naming the original error when that array is unusable (its work failed,
 * was in flight when its stream failed, or its stream was reset).
 */
final class CrossStreamInputs {
    private final Stream self;

    CrossStreamInputs(Stream self) {
        this.self = self;
    }

    /** Whether every input of the batch's ops that comes from another stream has settled. */
    boolean settled(BatchImpl batch) {
        for (int k = 0, n = batch.size(); k < n; k++) {
            CommandImpl c = batch.commandImpl(k);
            for (int i = 0; i < c.inputCount(); i++) {
                ArrayImpl in = c.input(i);
                if (in.owner != self && !in.isSettled()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** For a batch reported complete: an upstream failure of one of its settled foreign inputs, if any. */
    StreamError failure(BatchImpl batch) {
        for (int k = 0, n = batch.size(); k < n; k++) {
            CommandImpl c = batch.commandImpl(k);
            for (int i = 0; i < c.inputCount(); i++) {
                ArrayImpl in = c.input(i);
                if (in.owner != self && in.isSettled()) {
                    StreamError cause = in.unusableBecause();
                    if (cause != null) {
                        return upstreamError(c, batch, in, cause);
                    }
                }
            }
        }
        return null;
    }

    /**
     * For an engine about to execute {@code command}: waits for its foreign inputs and returns the
     * error that makes one unusable, or null. Stops waiting, returning null, once {@code abandon}.
     */
    StreamError await(CommandImpl command, BooleanSupplier abandon) {
        for (int i = 0; i < command.inputCount(); i++) {
            ArrayImpl in = command.input(i);
            if (in.owner == self) {
                continue; // same stream: earlier in the same serial queue
            }
            in.owner.slot.waiters.awaitUninterruptibly(() -> in.isSettled() || abandon.getAsBoolean());
            if (!in.isSettled()) {
                return null;
            }
            StreamError cause = in.unusableBecause();
            if (cause != null) {
                return upstreamError(command, null, in, cause);
            }
        }
        return null;
    }

    private StreamError upstreamError(CommandImpl c, BatchImpl batch, ArrayImpl in, StreamError cause) {
        return self.slot
                .error(ErrorKind.UPSTREAM_FAILURE)
                .message("input " + in.shape() + " from stream " + in.owner.id + " is unusable: " + cause.describe())
                .command(c)
                .batch(batch)
                .upstream(cause)
                .build();
    }
}
