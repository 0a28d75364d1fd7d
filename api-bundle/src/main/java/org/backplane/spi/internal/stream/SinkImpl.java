package org.backplane.spi.internal.stream;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.StreamSink;

/**
 * The seam an engine reports through (one per stream). It holds no rule itself: it hands each
 * report to the part of the stream that decides it. Never throws (S1): a report the SPI cannot make
 * sense of is logged, never thrown onto a driver thread.
 */
final class SinkImpl implements StreamSink {
    private final Stream owner;

    SinkImpl(Stream owner) {
        this.owner = owner;
    }

    @Override
    public StreamId id() {
        return owner.id;
    }

    @Override
    public String label() {
        return owner.label;
    }

    @Override
    public ErrorBuilder error(ErrorKind kind) {
        return owner.slot.error(kind);
    }

    @Override
    public void completed(CommandBatch batch) {
        try {
            owner.completion.completed(own(batch));
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    @Override
    public void failed(CommandBatch batch, StreamError error, ErrorScope scope) {
        try {
            owner.completion.failed(own(batch), error, scope);
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    @Override
    public void failedUnexpectedly(CommandBatch batch, Throwable cause) {
        BatchImpl b;
        try {
            b = own(batch);
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
            return;
        }
        StreamError error;
        try {
            boolean heap = cause instanceof OutOfMemoryError;
            error = owner.slot
                    .error(heap ? ErrorKind.OUT_OF_MEMORY : ErrorKind.INTERNAL)
                    .nativeText(String.valueOf(cause))
                    .message(
                            heap
                                    ? "the Java heap was exhausted while the backend ran this work"
                                    : "the backend's own code failed while running or completing this work: " + cause)
                    .batch(batch)
                    .cause(cause)
                    .build();
        } catch (Throwable t) {
            error = b.generation.heapExhausted; // nothing could be allocated: the one made in advance
        }
        // Completion.failed catches everything itself; should the heap still refuse it the little it
        // needs, try again for a while: a batch left unfinished would leave its waiters waiting.
        for (int attempt = 0; attempt < 1000 && b.status == BatchImpl.COMMITTED; attempt++) {
            try {
                owner.completion.failed(b, error, ErrorScope.STREAM);
            } catch (Throwable t) {
                LockSupport.parkNanos(1_000_000);
            }
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        try {
            owner.completion.discarded(own(batch));
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    @Override
    public void raise(StreamError error, ErrorScope scope) {
        try {
            owner.slot.raise(error);
            owner.backend.reach(error, scope);
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
        }
    }

    @Override
    public StreamError awaitInputs(Command command, BooleanSupplier abandon) {
        return owner.inputs.await((CommandImpl) command, abandon);
    }

    @Override
    public boolean failInjected(CommandBatch batch, Command command) {
        try {
            FaultRule rule = command.injectedFault();
            if (rule == null || rule.kind() == ErrorKind.VERIFICATION_MISMATCH) {
                return false;
            }
            StreamError error = error(rule.kind())
                    .injected(rule)
                    .command(command)
                    .batch(batch)
                    .build();
            // An injected device loss travels the path a real one does: it loses the device (S9).
            failed(batch, error, ErrorScope.of(rule.kind()));
            return true;
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
            return false;
        }
    }

    @Override
    public boolean failInjected(CommandBatch batch, Predicate<FaultRule> realisedNatively) {
        try {
            for (int i = 0; i < batch.size(); i++) {
                Command c = batch.command(i);
                FaultRule rule = c.injectedFault();
                if (rule != null && !realisedNatively.test(rule) && failInjected(batch, c)) {
                    return true;
                }
            }
            return false;
        } catch (Throwable t) {
            StreamSlot.safeLog(t);
            return false;
        }
    }

    /** Batches reach an engine only from its own stream; anything else is a bug worth a clear message. */
    private BatchImpl own(CommandBatch batch) {
        if (batch instanceof BatchImpl b && b.owner == owner) {
            return b;
        }
        throw new IllegalArgumentException(batch + " is not a batch of stream " + owner.id);
    }
}
