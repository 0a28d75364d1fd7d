package org.backplane.spi;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.backplane.api.StreamError;

/**
 * A command buffer: ops of one stream generation that are committed together. The SPI opens,
 * fills and commits batches; the engine executes a committed batch and reports its end exactly
 * once through {@link StreamCore#batchCompleted} or {@link StreamCore#batchFailed}.
 */
public final class CommandBatch {
    static final int OPEN = 0;
    static final int COMMITTED = 1;
    static final int DONE = 2;
    static final int FAILED = 3;

    private static final VarHandle STATUS;

    static {
        try {
            STATUS = MethodHandles.lookup().findVarHandle(CommandBatch.class, "status", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final StreamCore stream;
    final Generation generation;
    private final long id;
    private ArrayList<Command> commands = new ArrayList<>();
    private int size;
    private long firstSequence;
    private long lastSequence;
    private long bytes;
    /** Ops of this batch sampled for result checking. */
    int toVerify;
    volatile int status;
    volatile StreamError error;
    private volatile Object nativeHandle;

    CommandBatch(StreamCore stream, Generation generation, long id) {
        this.stream = stream;
        this.generation = generation;
        this.id = id;
    }

    void add(Command command) {
        if (size == 0) {
            firstSequence = command.sequence();
        }
        lastSequence = command.sequence();
        commands.add(command);
        size++;
        bytes += command.outputBytes();
    }

    /**
     * Drops the ops once the batch has ended, so that a finished array does not keep its whole
     * chain of inputs (and their memory) reachable through its producing batch.
     */
    void release() {
        commands = new ArrayList<>(0);
    }

    boolean casStatus(int expected, int next) {
        return STATUS.compareAndSet(this, expected, next);
    }

    /** The batch's number on its stream (1 is the first). */
    public long id() {
        return id;
    }

    public StreamCore stream() {
        return stream;
    }

    /** The ops, in execution order; stable once committed, empty once the batch has ended. */
    public List<Command> commands() {
        return Collections.unmodifiableList(commands);
    }

    /** Op {@code i}, without copying. */
    public Command command(int i) {
        return commands.get(i);
    }

    /** Whether the batch has no ops. */
    boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }

    /** Output bytes of all its ops. */
    public long bytes() {
        return bytes;
    }

    public long firstSequence() {
        return firstSequence;
    }

    public long lastSequence() {
        return lastSequence;
    }

    /**
     * Whether the batch's work should still run: its generation is the stream's current one and no
     * error has been captured in it (a stream being closed still finishes its queued work). Engines
     * check this before executing (S4) and report a batch they skip with
     * {@link StreamCore#batchDiscarded}.
     */
    public boolean shouldRun() {
        int state = generation.state;
        return generation == stream.currentGeneration() && generation.first == null
                && (state == Generation.ACTIVE || state == Generation.CLOSING);
    }

    /** Whether the engine has reported this batch's end (or the SPI discarded it). */
    public boolean isFinished() {
        return status >= DONE;
    }

    /** The engine's native object for this batch (a command buffer pointer), if it keeps one here. */
    public Object nativeHandle() {
        return nativeHandle;
    }

    public void nativeHandle(Object handle) {
        this.nativeHandle = handle;
    }

    /** {@code "command buffer #3 of cpu:1 (ops #65-#96)"}. */
    public String describe() {
        return "command buffer #" + id + " of " + stream.id() + " (ops #" + firstSequence() + "-#" + lastSequence() + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
