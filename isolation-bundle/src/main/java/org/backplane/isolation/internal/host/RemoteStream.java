package org.backplane.isolation.internal.host;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.isolation.internal.wire.ArrayRef;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.wire.WireError;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.ErrorScope;
import org.backplane.spi.NativeBatch;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * One stream of an isolated backend, in the host: an engine that forwards each committed batch whole
 * to the worker and feeds the worker's reports into the stream's sink, as a driver callback would
 * (S1). Host copies go through the stream's {@link Staging} memory. When the worker is lost, every
 * batch still in flight fails with {@code DEVICE_LOST} (S9), so nothing waits for a dead process.
 */
final class RemoteStream implements StreamEngine {
    private final IsolatedEngine engine;
    private final StreamSink sink;
    private final long number;
    private final Staging staging;
    private final ConcurrentHashMap<Long, CommandBatch> inFlight = new ConcurrentHashMap<>();
    /** The worker this stream runs in; replaced by a reset after the worker was lost. */
    private volatile WorkerSession session;

    RemoteStream(IsolatedEngine engine, StreamSink sink, PrivateDirectory directory) {
        this.engine = engine;
        this.sink = sink;
        this.number = sink.id().number();
        this.staging = new Staging(directory, "s" + number);
    }

    /** Opens the stream in {@code worker}. @throws EngineFailure if the worker is gone or refuses */
    void open(WorkerSession worker) {
        long request = worker.newRequest();
        worker.streams.put(number, this);
        session = worker;
        try {
            reply(worker.call(
                    request,
                    new Frame(Message.OPEN).putLong(request).putLong(number).putString(sink.label())));
        } catch (WorkerGone e) {
            throw lost(e);
        } catch (RuntimeException e) {
            worker.streams.remove(number, this);
            throw e;
        }
    }

    // ------------------------------------------------------------------ batches

    /** The storages a batch's ops read and make, held from their encoding to the batch's end. */
    private static final class Reads implements NativeBatch {
        final List<RemoteStorage> storages = new ArrayList<>();
    }

    /** Binds the op's output to a new storage number and holds it and the storages it reads until its batch ends. */
    @Override
    public void encode(CommandBatch batch, Command command) {
        Reads reads = batch.attachment(Reads.class);
        if (reads == null) {
            reads = new Reads();
            batch.attach(reads);
        }
        for (EngineArray in : command.inputs()) {
            RemoteStorage storage = in.storage(RemoteStorage.class);
            if (!storage.use()) {
                throw new IllegalArgumentException("input " + in.shape() + " of " + in.stream() + " was closed");
            }
            reads.storages.add(storage);
        }
        EngineArray out = command.output();
        if (!out.hasStorage()) {
            WorkerSession s = session;
            RemoteStorage storage = new RemoteStorage(s, number, s.newStorage(), out.byteSize(), engine.reaper());
            storage.use(); // made by this batch: not released before the worker has it, even if closed at once
            reads.storages.add(storage);
            out.bind(storage);
        }
    }

    /** The batch will never be sent: what it read may be released. */
    @Override
    public void discarded(CommandBatch batch) {
        letGo(batch);
    }

    private static void letGo(CommandBatch batch) {
        Reads reads = batch.attachment(Reads.class);
        if (reads != null) {
            reads.storages.forEach(RemoteStorage::done);
            reads.storages.clear();
        }
    }

    /** A batch's end was learnt: it is no longer in flight, and the storages it read may be released. */
    private CommandBatch ended(long batchId) {
        CommandBatch b = inFlight.remove(batchId);
        if (b != null) {
            letGo(b);
        }
        return b;
    }

    /** Every batch in flight ended at once (the worker was lost, or the stream closed). */
    private List<CommandBatch> endedAll() {
        List<CommandBatch> all = new ArrayList<>(inFlight.values());
        for (CommandBatch b : all) {
            ended(b.id());
        }
        return all;
    }

    @Override
    public void commit(CommandBatch batch) {
        WorkerSession s = session;
        Frame f = new Frame(Message.COMMIT)
                .putLong(number)
                .putLong(batch.id())
                .putLong(batch.generation())
                .putInt(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            Command c = batch.command(i);
            f.putLong(c.sequence());
            engine.values().write(f, c.op());
            f.putBoolean(c.isVerified());
            engine.values().write(f, c.injectedFault());
            write(f, c.output());
            f.putInt(c.inputCount());
            for (int k = 0; k < c.inputCount(); k++) {
                write(f, c.input(k));
            }
        }
        inFlight.put(batch.id(), batch);
        engine.releases(false);
        try {
            s.send(f);
        } catch (WorkerGone e) {
            // its end fails what is in flight; this batch may have joined after that
            if (ended(batch.id()) != null) {
                sink.failed(batch, lossError(e.getMessage(), batch), ErrorScope.DEVICE);
            }
        }
    }

    private static void write(Frame f, EngineArray a) {
        ArrayRef.write(f, a, a.storage(RemoteStorage.class).id);
    }

    /** A report of the worker's, on the session's reader thread. Never throws (S1): the sink does not. */
    void onMessage(WorkerSession from, FrameReader in) {
        Message type = in.type();
        switch (type) {
            case COMPLETED -> {
                CommandBatch b = ended(in.getLong());
                if (b != null) {
                    sink.completed(b);
                }
            }
            case FAILED -> {
                CommandBatch b = ended(in.getLong());
                ErrorScope scope = in.getEnum(ErrorScope.values());
                WireError e = WireError.read(in);
                if (b != null) {
                    sink.failed(b, hostError(from, e, b), scope);
                }
            }
            case FAILED_UNEXPECTEDLY -> {
                CommandBatch b = ended(in.getLong());
                boolean heap = in.getBoolean();
                String text = in.getString();
                if (b != null) {
                    sink.failedUnexpectedly(
                            b,
                            heap
                                    ? new OutOfMemoryError("in worker process " + from.pid + ": " + text)
                                    : new IllegalStateException("in worker process " + from.pid + ": " + text));
                }
            }
            case DISCARDED -> {
                CommandBatch b = ended(in.getLong());
                if (b != null) {
                    sink.discarded(b);
                }
            }
            case RAISED -> {
                ErrorScope scope = in.getEnum(ErrorScope.values());
                sink.raise(hostError(from, WireError.read(in), null), scope);
            }
            case AWAIT -> awaitInputs(from, in.getLong(), in.getLong(), in.getLong());
            case INJECTED -> failInjected(from, in);
            default -> {
                // the session dispatches only the messages above here
            }
        }
    }

    /** The worker's engine waits for inputs from other streams: the host's SPI decides, off the reader thread. */
    private void awaitInputs(WorkerSession from, long request, long batchId, long sequence) {
        CommandBatch b = inFlight.get(batchId);
        Thread.ofVirtual().name("backplane-" + from.backendId + "-await").start(() -> {
            StreamError error = null;
            if (b != null) {
                Command c = command(b, sequence);
                error = c == null ? null : sink.awaitInputs(c, () -> !b.shouldRun() || !from.isAlive());
            }
            Frame reply = new Frame(Message.AWAITED).putLong(request).putBoolean(error != null);
            if (error != null) {
                WireError.of(error, from.token(error)).write(reply);
            }
            from.sendQuietly(reply);
        });
    }

    /** The worker's engine realises injected faults: the host's sink applies its one rule and says whether the op failed. */
    private void failInjected(WorkerSession from, FrameReader in) {
        long request = in.getLong();
        long batchId = in.getLong();
        boolean one = in.getBoolean();
        int n = in.getInt();
        List<Command> commands = new ArrayList<>(n);
        CommandBatch b = inFlight.get(batchId);
        for (int i = 0; i < n; i++) {
            long sequence = in.getLong();
            Command c = b == null ? null : command(b, sequence);
            if (c != null) {
                commands.add(c);
            }
        }
        boolean failed = false;
        if (b != null && !commands.isEmpty()) {
            if (one) {
                failed = sink.failInjected(b, commands.get(0));
            } else {
                Set<FaultRule> candidates = new HashSet<>();
                commands.forEach(c -> candidates.add(c.injectedFault()));
                failed = sink.failInjected(b, rule -> !candidates.contains(rule));
            }
            if (failed) {
                ended(batchId);
            }
        }
        from.sendQuietly(new Frame(Message.INJECTED_DONE).putLong(request).putBoolean(failed));
    }

    private static Command command(CommandBatch b, long sequence) {
        for (int i = 0; i < b.size(); i++) {
            if (b.command(i).sequence() == sequence) {
                return b.command(i);
            }
        }
        return null;
    }

    /** The worker's error as this stream's: the host's own object if it came from here, else rebuilt. */
    private StreamError hostError(WorkerSession from, WireError e, CommandBatch batch) {
        StreamError own = from.untoken(e.token());
        if (own != null) {
            return own;
        }
        Command c = batch == null || e.sequence() == 0 ? null : command(batch, e.sequence());
        String op = c != null ? c.describe() : batch != null && e.sequence() == 0 ? batch.describe() : null;
        return e.toError(sink.id().backendId(), sink.id(), sink.label(), op, "worker " + from.pid + ": ");
    }

    // ------------------------------------------------------------------ the worker's end

    /** The worker ended: every batch in flight fails with DEVICE_LOST; with none, the loss is raised (S9). */
    void workerLost(WorkerSession worker, String reason) {
        if (worker != session) {
            return;
        }
        List<CommandBatch> lost = endedAll();
        if (lost.isEmpty()) {
            sink.raise(lossError(reason, null), ErrorScope.DEVICE);
            return;
        }
        for (CommandBatch b : lost) {
            sink.failed(b, lossError(reason, b), ErrorScope.DEVICE);
        }
    }

    private StreamError lossError(String reason, CommandBatch batch) {
        WorkerSession s = session;
        StreamError cause = s == null ? null : s.retiredFor();
        return sink.error(ErrorKind.DEVICE_LOST)
                .nativeCode(cause != null ? cause.nativeCode() : 0)
                .nativeText(reason)
                .message("the worker process of backend '" + sink.id().backendId() + "' was lost; every stream "
                        + "on it is poisoned until reset, which starts a fresh worker")
                .upstream(cause)
                .batch(batch)
                .build();
    }

    private EngineFailure lost(WorkerGone e) {
        return new EngineFailure(lossError(e.getMessage(), null), ErrorScope.DEVICE);
    }

    // ------------------------------------------------------------------ host copies

    @Override
    public void upload(EngineArray target, MemorySegment source) {
        WorkerSession s = session;
        long id = s.newStorage();
        synchronized (staging.lock) {
            MemorySegment shared = staging.reserve(source.byteSize());
            MemorySegment.copy(source, 0, shared, 0, source.byteSize());
            long request = s.newRequest();
            Frame f = new Frame(Message.UPLOAD)
                    .putLong(request)
                    .putLong(number)
                    .putString(staging.path().toString())
                    .putLong(staging.size());
            ArrayRef.write(f, target, id);
            try {
                reply(s.call(request, f));
            } catch (WorkerGone e) {
                throw lost(e);
            } finally {
                staging.done();
            }
        }
        target.bind(new RemoteStorage(s, number, id, target.byteSize(), engine.reaper()));
        engine.releases(false);
    }

    @Override
    public void download(EngineArray source, MemorySegment target) {
        RemoteStorage storage = source.storage(RemoteStorage.class);
        WorkerSession s = storage.session;
        synchronized (staging.lock) {
            MemorySegment shared = staging.reserve(target.byteSize());
            long request = s.newRequest();
            Frame f = new Frame(Message.DOWNLOAD)
                    .putLong(request)
                    .putLong(number)
                    .putString(staging.path().toString())
                    .putLong(staging.size())
                    .putLong(target.byteSize());
            ArrayRef.write(f, source, storage.id);
            try {
                reply(s.call(request, f));
                MemorySegment.copy(shared, 0, target, 0, target.byteSize());
            } catch (WorkerGone e) {
                throw lost(e);
            } finally {
                staging.done();
            }
        }
    }

    /**
     * A host thread is about to wait for {@code batch}: the worker's engine may learn of its end
     * sooner by polling than its completion callback would bring it (CUDA polls its event), so it is
     * asked to, without waiting for it here.
     */
    @Override
    public void expediteCompletion(CommandBatch batch) {
        if (inFlight.containsKey(batch.id())) {
            session.sendQuietly(new Frame(Message.EXPEDITE).putLong(number).putLong(batch.id()));
        }
    }

    @Override
    public void release(EngineArray array) {
        if (array.hasStorage()) {
            array.storage(RemoteStorage.class).release();
            engine.releases(false);
        }
    }

    /** Reads a reply: fine, bad input (thrown as such), or the engine's failure. */
    private void reply(FrameReader in) {
        byte status = in.getByte();
        switch (status) {
            case 0 -> {}
            case 1 -> throw new IllegalArgumentException(in.getString());
            case 2 -> {
                ErrorScope scope = in.getEnum(ErrorScope.values());
                throw new EngineFailure(hostError(session, WireError.read(in), null), scope);
            }
            default ->
                throw new EngineFailure(
                        sink.error(ErrorKind.INTERNAL)
                                .message("the worker failed: " + in.getString())
                                .build(),
                        ErrorScope.STREAM);
        }
    }

    // ------------------------------------------------------------------ reset and close

    @Override
    public void rebuild(Duration timeout) {
        WorkerSession current = engine.currentSession();
        WorkerSession s = session;
        if (s != current && current != null && current.isAlive()) {
            s.streams.remove(number, this);
            open(current); // the old worker is gone: this stream starts again in the fresh one
            return;
        }
        if (!s.isAlive()) {
            return; // lost: the next reset after the device is rebuilt reopens it
        }
        long request = s.newRequest();
        try {
            reply(s.call(
                    request,
                    new Frame(Message.REBUILD).putLong(request).putLong(number).putLong(timeout.toMillis())));
        } catch (WorkerGone e) {
            // lost meanwhile: its end failed what was in flight
        }
    }

    @Override
    public void close(Duration timeout, StreamError abortError) {
        engine.releases(true);
        WorkerSession s = session;
        try {
            if (s.isAlive()) {
                long request = s.newRequest();
                Frame f = new Frame(Message.CLOSE)
                        .putLong(request)
                        .putLong(number)
                        .putLong(timeout.toMillis())
                        .putBoolean(abortError != null);
                if (abortError != null) {
                    WireError.of(abortError, s.token(abortError)).write(f);
                }
                reply(s.call(request, f));
            }
        } catch (WorkerGone e) {
            // lost: what was in flight failed with it
        } finally {
            s.streams.remove(number, this);
            staging.close();
            List<CommandBatch> left = endedAll();
            for (CommandBatch b : left) {
                sink.failed(
                        b,
                        abortError != null
                                ? abortError
                                : sink.error(ErrorKind.INTERNAL)
                                        .message("the stream was closed before its worker finished this work")
                                        .batch(b)
                                        .build());
            }
        }
    }
}
