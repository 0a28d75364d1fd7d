package org.backplane.isolation.internal.worker;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.backplane.api.StreamId;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.NativeBatch;

/** A batch as the host committed it, run by the worker's real engine; its end is reported once. */
final class WorkerBatch implements CommandBatch {
    private final WorkerStream owner;
    private final long id;
    private final long generation;
    private final List<Command> commands;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile NativeBatch attached;

    WorkerBatch(WorkerStream owner, long id, long generation, List<Command> commands) {
        this.owner = owner;
        this.id = id;
        this.generation = generation;
        this.commands = List.copyOf(commands);
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
        return generation;
    }

    @Override
    public List<Command> commands() {
        return finished.get() ? List.of() : commands;
    }

    @Override
    public Command command(int i) {
        return commands.get(i);
    }

    @Override
    public int size() {
        return commands.size();
    }

    @Override
    public long bytes() {
        long n = 0;
        for (Command c : commands) {
            n += c.outputBytes();
        }
        return n;
    }

    @Override
    public long firstSequence() {
        return commands.isEmpty() ? 0 : commands.get(0).sequence();
    }

    @Override
    public long lastSequence() {
        return commands.isEmpty() ? 0 : commands.get(commands.size() - 1).sequence();
    }

    /** Its generation is the stream's newest and nothing of that generation failed (S4). */
    @Override
    public boolean shouldRun() {
        return !finished.get() && owner.runs(generation);
    }

    @Override
    public boolean isFinished() {
        return finished.get();
    }

    /** Marks the batch reported; true only the first time. */
    boolean finish() {
        if (finished.compareAndSet(false, true)) {
            owner.batches.remove(id, this);
            return true;
        }
        return false;
    }

    @Override
    public void attach(NativeBatch state) {
        attached = state;
    }

    @Override
    public <T extends NativeBatch> T attachment(Class<T> type) {
        NativeBatch a = attached;
        if (a == null) {
            return null;
        }
        if (!type.isInstance(a)) {
            throw new IllegalStateException("batch holds a " + a.getClass().getName() + ", not a " + type.getName());
        }
        return type.cast(a);
    }

    @Override
    public String describe() {
        return "command buffer #" + id + " of " + owner.id + " (ops #" + firstSequence() + "-#" + lastSequence() + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
