package org.backplane.spi;

import java.util.List;
import org.backplane.api.StreamId;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A command buffer: ops of one stream generation that are committed together. The SPI opens,
 * fills and commits batches; the engine executes a committed batch and reports its end exactly once
 * to its {@link StreamSink}.
 */
@ProviderType
public interface CommandBatch {
    /** The batch's number on its stream (1 is the first). */
    long id();

    StreamId stream();

    /** The stream generation its ops belong to. */
    long generation();

    /** The ops, in execution order; stable once committed, empty once the batch has ended. */
    List<Command> commands();

    /** Op {@code i}, without copying. */
    Command command(int i);

    int size();

    /** Output bytes of all its ops. */
    long bytes();

    long firstSequence();

    long lastSequence();

    /**
     * Whether the batch's work should still run: its generation is the stream's current one and no
     * error has been captured in it (a stream being closed still finishes its queued work). Engines
     * check this before executing (S4) and report a batch they skip with {@link StreamSink#discarded}.
     */
    boolean shouldRun();

    /** Whether the batch's end was reported (or the SPI discarded it). */
    boolean isFinished();

    /** Attaches the engine's native state of this batch (once, when its first op is encoded). */
    void attach(NativeBatch state);

    /**
     * The engine's native state attached to this batch, or null if none is.
     *
     * @throws IllegalStateException if the attached state is not a {@code type}
     */
    <T extends NativeBatch> T attachment(Class<T> type);

    /** {@code "command buffer #3 of cpu:1 (ops #65-#96)"}. */
    String describe();
}
