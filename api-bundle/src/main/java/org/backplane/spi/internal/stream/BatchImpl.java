package org.backplane.spi.internal.stream;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.NativeBatch;

/** A command buffer of one stream generation: opened and filled by the batcher, ended exactly once. */
final class BatchImpl implements CommandBatch {
    static final int OPEN = 0;
    static final int COMMITTED = 1;
    static final int DONE = 2;
    static final int FAILED = 3;

    private static final VarHandle STATUS;

    static {
        try {
            STATUS = MethodHandles.lookup().findVarHandle(BatchImpl.class, "status", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Stream owner;
    final Generation generation;
    private final long id;
    private List<Command> commands = new ArrayList<>();
    private int size;
    private long firstSequence;
    private long lastSequence;
    private long bytes;
    /** Ops of this batch sampled for result checking (guarded by the encode lock until commit). */
    int toVerify;

    volatile int status;
    /** Whether the batch's ops were counted as completed or failed (once, by whichever comes first). */
    final AtomicBoolean counted = new AtomicBoolean();

    volatile StreamError error;
    private volatile NativeBatch attachment;

    BatchImpl(Stream owner, Generation generation, long id) {
        this.owner = owner;
        this.generation = generation;
        this.id = id;
    }

    void add(CommandImpl command) {
        if (size == 0) {
            firstSequence = command.sequence();
        }
        lastSequence = command.sequence();
        commands.add(command);
        size++;
        bytes += command.outputBytes();
    }

    /**
     * Drops the ops once the batch has ended, so that a finished array does not keep its whole chain
     * of inputs (and their memory) reachable through its producing batch.
     */
    void release() {
        commands = new ArrayList<>(0);
    }

    boolean casStatus(int expected, int next) {
        return STATUS.compareAndSet(this, expected, next);
    }

    CommandImpl commandImpl(int i) {
        return (CommandImpl) commands.get(i);
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public StreamId stream() {
        return owner.id;
    }

    @Override
    public long generation() {
        return generation.number;
    }

    @Override
    public List<Command> commands() {
        return Collections.unmodifiableList(commands);
    }

    @Override
    public Command command(int i) {
        return commands.get(i);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public long firstSequence() {
        return firstSequence;
    }

    @Override
    public long lastSequence() {
        return lastSequence;
    }

    @Override
    public boolean shouldRun() {
        int state = generation.state;
        return generation == owner.slot.current()
                && generation.first == null
                && (state == Generation.ACTIVE || state == Generation.CLOSING);
    }

    @Override
    public boolean isFinished() {
        return status >= DONE;
    }

    @Override
    public void attach(NativeBatch state) {
        this.attachment = state;
    }

    @Override
    public <T extends NativeBatch> T attachment(Class<T> type) {
        NativeBatch a = attachment;
        if (a == null) {
            return null;
        }
        if (!type.isInstance(a)) {
            throw new IllegalStateException(
                    describe() + " carries " + a.getClass().getSimpleName() + ", not " + type.getSimpleName());
        }
        return type.cast(a);
    }

    @Override
    public String describe() {
        return "command buffer #" + id + " of " + owner.id + " (ops #" + firstSequence + "-#" + lastSequence + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
