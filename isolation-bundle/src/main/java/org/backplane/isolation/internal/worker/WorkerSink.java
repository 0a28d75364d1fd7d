package org.backplane.isolation.internal.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.wire.WireError;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.StreamSink;

/**
 * The sink the real engine reports into, in the worker: each report goes to the host, whose SPI
 * decides what it means (S1–S13 live there, once). Questions only the host can answer — an input of
 * another stream, an injected fault — are asked and waited for. Never throws.
 */
final class WorkerSink implements StreamSink {
    private final WorkerServer server;
    private final WorkerStream stream;
    /** Completions waiting for an earlier batch of the stream to end, by batch number. */
    private final TreeMap<Long, WorkerBatch> held = new TreeMap<>();

    WorkerSink(WorkerServer server, WorkerStream stream) {
        this.server = server;
        this.stream = stream;
    }

    @Override
    public StreamId id() {
        return stream.id;
    }

    @Override
    public String label() {
        return stream.label;
    }

    @Override
    public ErrorBuilder error(ErrorKind kind) {
        return new ErrorBuilder(server.backendId(), stream.id, stream.label, stream.generation(), kind);
    }

    /**
     * Reported in the stream's order: a batch the engine finished (a poll may find a later batch done
     * before an earlier one's callback ran) waits until every batch committed before it has ended, so
     * that the host learns of an earlier failure first and never releases data of work that was in
     * flight when its stream failed (S6).
     */
    @Override
    public void completed(CommandBatch batch) {
        if (batch instanceof WorkerBatch b) {
            synchronized (held) {
                if (!b.isFinished()) {
                    held.put(b.id(), b);
                }
            }
            releaseHeld();
        }
    }

    /** Reports the held completions whose earlier batches have all ended. */
    private void releaseHeld() {
        synchronized (held) {
            while (!held.isEmpty()) {
                long first = held.firstKey();
                for (WorkerBatch live : stream.batches.values()) {
                    if (live.id() < first && !held.containsKey(live.id())) {
                        return; // an earlier batch has not ended yet
                    }
                }
                WorkerBatch b = held.pollFirstEntry().getValue();
                if (b.finish()) {
                    server.report(
                            new Frame(Message.COMPLETED).putLong(stream.number).putLong(b.id()));
                }
            }
        }
    }

    @Override
    public void failed(CommandBatch batch, StreamError error, ErrorScope scope) {
        if (finish(batch)) {
            stream.failed(batch.generation());
            Frame f = new Frame(Message.FAILED)
                    .putLong(stream.number)
                    .putLong(batch.id())
                    .putEnum(scope);
            server.wire(error).write(f);
            server.report(f);
            releaseHeld();
        }
    }

    @Override
    public void failedUnexpectedly(CommandBatch batch, Throwable cause) {
        if (!finish(batch)) {
            return;
        }
        stream.failed(batch.generation());
        // The heap may refuse even this: try for a while, a batch never reported would hang its waiters.
        for (int attempt = 0; attempt < 1000; attempt++) {
            try {
                server.report(new Frame(Message.FAILED_UNEXPECTEDLY)
                        .putLong(stream.number)
                        .putLong(batch.id())
                        .putBoolean(cause instanceof OutOfMemoryError)
                        .putString(String.valueOf(cause)));
                releaseHeld();
                return;
            } catch (Throwable t) {
                LockSupport.parkNanos(1_000_000);
            }
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        if (finish(batch)) {
            server.report(new Frame(Message.DISCARDED).putLong(stream.number).putLong(batch.id()));
            releaseHeld();
        }
    }

    @Override
    public void raise(StreamError error, ErrorScope scope) {
        Frame f = new Frame(Message.RAISED).putLong(stream.number).putEnum(scope);
        server.wire(error).write(f);
        server.report(f);
    }

    /** Inputs of this stream are in order already; only those of other streams need the host. */
    @Override
    public StreamError awaitInputs(Command command, BooleanSupplier abandon) {
        boolean foreign = false;
        for (EngineArray in : command.inputs()) {
            foreign |= !in.stream().equals(stream.id);
        }
        if (!foreign) {
            return null;
        }
        WorkerBatch batch = batchOf(command);
        if (batch == null) {
            return null;
        }
        long request = server.newRequest();
        FrameReader answer = server.ask(
                request,
                new Frame(Message.AWAIT)
                        .putLong(stream.number)
                        .putLong(request)
                        .putLong(batch.id())
                        .putLong(command.sequence()),
                abandon);
        if (answer == null || !answer.getBoolean()) {
            return null;
        }
        return server.fromHost(WireError.read(answer), stream);
    }

    @Override
    public boolean failInjected(CommandBatch batch, Command command) {
        if (command.injectedFault() == null) {
            return false;
        }
        return askInjected(batch, true, List.of(command));
    }

    @Override
    public boolean failInjected(CommandBatch batch, Predicate<FaultRule> realisedNatively) {
        List<Command> candidates = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            FaultRule rule = batch.command(i).injectedFault();
            if (rule != null && !realisedNatively.test(rule)) {
                candidates.add(batch.command(i));
            }
        }
        return !candidates.isEmpty() && askInjected(batch, false, candidates);
    }

    private boolean askInjected(CommandBatch batch, boolean one, List<Command> commands) {
        long request = server.newRequest();
        Frame f = new Frame(Message.INJECTED)
                .putLong(stream.number)
                .putLong(request)
                .putLong(batch.id())
                .putBoolean(one)
                .putInt(commands.size());
        commands.forEach(c -> f.putLong(c.sequence()));
        FrameReader answer = server.ask(request, f, () -> false);
        boolean failed = answer != null && answer.getBoolean();
        if (failed && batch instanceof WorkerBatch b && b.finish()) {
            stream.failed(batch.generation()); // the host reported it
            releaseHeld();
        }
        return failed;
    }

    private WorkerBatch batchOf(Command command) {
        for (WorkerBatch b : stream.batches.values()) {
            for (int i = 0; i < b.size(); i++) {
                if (b.command(i) == command) {
                    return b;
                }
            }
        }
        return null;
    }

    private static boolean finish(CommandBatch batch) {
        return batch instanceof WorkerBatch b ? b.finish() : false;
    }
}
