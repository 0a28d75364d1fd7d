package org.backplane.isolation.internal.worker;

import java.io.IOException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.isolation.WorkerBackend;
import org.backplane.isolation.internal.wire.ArrayRef;
import org.backplane.isolation.internal.wire.Connection;
import org.backplane.isolation.internal.wire.Describe;
import org.backplane.isolation.internal.wire.Frame;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.isolation.internal.wire.Message;
import org.backplane.isolation.internal.wire.Values;
import org.backplane.isolation.internal.wire.WireError;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.EngineArray;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.StreamEngine;

/**
 * The worker's side of the connection: starts the real engine, reads the host's messages on one
 * thread and hands each to the stream it belongs to (in order) or to a copy thread, and sends the
 * engine's reports back. Storage lives in one table, named by the host's storage numbers.
 */
final class WorkerServer {
    /** The number of the worker's own stream for copies of arrays whose stream was closed (never a host's). */
    static final long COPY_STREAM = Long.MAX_VALUE;

    private final Connection host;
    private final Values values = new Values(WorkerServer.class.getClassLoader());
    private final ConcurrentHashMap<Long, WorkerStream> streams = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, StorageSlot> storages = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, CompletableFuture<FrameReader>> asked = new ConcurrentHashMap<>();
    /** Errors the host handed over, with the token under which the host keeps the original. */
    private final Map<StreamError, Long> hostErrors = Collections.synchronizedMap(new IdentityHashMap<>());

    private final AtomicLong requests = new AtomicLong();
    private final ExecutorService copies;
    private String backendId = "";
    private BackendEngine engine;
    private WorkerStream copyStream;

    WorkerServer(Connection host) {
        this.host = host;
        AtomicInteger n = new AtomicInteger();
        this.copies = Executors.newCachedThreadPool(r -> Thread.ofPlatform()
                .daemon()
                .name("backplane-worker-copy-" + n.incrementAndGet())
                .unstarted(r));
    }

    String backendId() {
        return backendId;
    }

    Values values() {
        return values;
    }

    /** Starts the engine the host named, then serves the host until it says stop or goes away. */
    void serve(FrameReader hello) {
        backendId = hello.getString();
        String backend = hello.getString();
        Map<String, String> configuration = Describe.strings(hello);
        try {
            WorkerBackend b = Class.forName(backend, true, WorkerServer.class.getClassLoader())
                    .asSubclass(WorkerBackend.class)
                    .getConstructor()
                    .newInstance();
            WorkerBackend.Started started = b.start(backendId, configuration);
            engine = started.engine();
            Frame ready =
                    new Frame(Message.READY).putLong(ProcessHandle.current().pid());
            Describe.device(ready, started.device());
            Describe.capabilities(ready, started.capabilities());
            report(ready);
        } catch (Throwable t) {
            StringBuilder why = new StringBuilder(String.valueOf(t));
            for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
                why.append("; caused by ").append(c);
            }
            report(new Frame(Message.START_FAILED).putString(why.toString()));
            WorkerExit.halt(1, "the backend did not start: " + why);
        }
        for (; ; ) {
            FrameReader in;
            try {
                in = host.receive();
            } catch (IOException | RuntimeException e) {
                WorkerExit.halt(0, "the connection from the host ended (" + e + ")"); // so is its worker
                return;
            }
            try {
                dispatch(in);
            } catch (Throwable t) {
                System.err.println("worker: could not handle " + in.type() + ": " + t);
            }
        }
    }

    private void dispatch(FrameReader in) {
        switch (in.type()) {
            case OPEN -> open(in.getLong(), in.getLong(), in.getString());
            case COMMIT -> {
                WorkerStream s = streams.get(in.getLong());
                if (s != null) {
                    s.submit(() -> s.commit(in)); // streams encode in parallel, each in the host's order
                }
                // else: the host closed the stream; it failed what it had in flight itself
            }
            case UPLOAD -> copies.execute(() -> upload(in));
            case DOWNLOAD -> copies.execute(() -> download(in));
            case RELEASE -> {
                WorkerStream s = streams.get(in.getLong());
                long[] ids = new long[in.getInt()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = in.getLong();
                }
                if (s == null || !s.submit(() -> release(s.engine(), ids))) { // after the batches before it
                    release(null, ids); // the stream closed: its engine holds nothing more of them
                }
            }
            case REBUILD -> {
                long request = in.getLong();
                WorkerStream s = streams.get(in.getLong());
                long timeout = in.getLong();
                if (s == null || !s.submit(() -> answer(request, () -> s.rebuild(Duration.ofMillis(timeout))))) {
                    replyOk(request); // closed meanwhile: nothing left to rebuild
                }
            }
            case CLOSE -> {
                long request = in.getLong();
                long number = in.getLong();
                long timeout = in.getLong();
                StreamError abort = in.getBoolean() ? fromHost(WireError.read(in), streams.get(number)) : null;
                WorkerStream s = streams.get(number);
                if (s == null
                        || !s.submit(() -> answer(request, () -> {
                            try {
                                s.close(Duration.ofMillis(timeout), abort);
                            } finally {
                                streams.remove(number, s);
                            }
                        }))) {
                    replyOk(request); // closed already
                }
            }
            case AWAITED, INJECTED_DONE -> {
                CompletableFuture<FrameReader> waiting = asked.remove(in.getLong());
                if (waiting != null) {
                    waiting.complete(in);
                }
            }
            case PING -> report(new Frame(Message.PONG));
            case EXPEDITE -> {
                WorkerStream s = streams.get(in.getLong());
                long batch = in.getLong();
                if (s != null) {
                    s.submit(() -> s.expedite(batch)); // right after the batch's commit, on the same thread
                }
            }
            case SHUTDOWN -> {
                long request = in.getLong();
                long timeout = in.getLong();
                answer(request, () -> engine.shutdown(Duration.ofMillis(timeout)));
                WorkerExit.halt(0, "the host stopped the backend");
            }
            default -> throw new IllegalStateException("a host does not send " + in.type());
        }
    }

    private void open(long request, long number, String label) {
        WorkerStream s = new WorkerStream(this, number, label);
        answer(request, () -> {
            s.open(engine.openStream(s.sink));
            streams.put(number, s);
        });
    }

    // ------------------------------------------------------------------ arrays

    /**
     * Waits until stream {@code number} has encoded its batch {@code batch}: a batch that consumes
     * another stream's array is encoded after the batch that produces it, as the host committed them
     * (the host commits the producer first, so this waits only for work already queued).
     */
    void awaitEncoded(long number, long batch) {
        WorkerStream s = streams.get(number);
        if (s != null) {
            s.awaitEncoded(batch);
        }
    }

    /** The worker's view of an array a batch names; its storage slot is shared by every view of it. */
    EngineArray array(ArrayRef ref) {
        StorageSlot slot = storages.computeIfAbsent(ref.storage(), StorageSlot::new);
        WorkerStream producerStream = ref.producer() == 0 ? null : streams.get(ref.stream());
        CommandBatch producer = producerStream == null ? null : producerStream.batches.get(ref.producer());
        return new WorkerArray(ref, new StreamId(backendId, ref.stream()), slot, producer);
    }

    private void release(StreamEngine owner, long[] ids) {
        for (long id : ids) {
            StorageSlot slot = storages.remove(id);
            if (slot != null && slot.storage() != null && owner != null) {
                try {
                    owner.release(WorkerArray.released(slot));
                } catch (RuntimeException e) {
                    System.err.println("worker: release of storage #" + id + " failed: " + e);
                }
            }
        }
    }

    private void upload(FrameReader in) {
        long request = in.getLong();
        long stream = in.getLong();
        String path = in.getString();
        long size = in.getLong();
        ArrayRef ref = ArrayRef.read(in);
        answer(
                request,
                () -> staging(stream).copy(path, size, shared -> {
                    EngineArray target = array(ref);
                    copier(stream).upload(target, shared.asSlice(0, target.byteSize()));
                }));
    }

    private void download(FrameReader in) {
        long request = in.getLong();
        long stream = in.getLong();
        String path = in.getString();
        long size = in.getLong();
        long bytes = in.getLong();
        ArrayRef ref = ArrayRef.read(in);
        answer(request, () -> {
            StorageSlot slot = storages.get(ref.storage());
            if (slot == null || slot.storage() == null) {
                throw new IllegalStateException("storage #" + ref.storage() + " is not in this worker");
            }
            EngineArray source = new WorkerArray(ref, new StreamId(backendId, ref.stream()), slot, null);
            staging(stream).copy(path, size, shared -> copier(stream).download(source, shared.asSlice(0, bytes)));
        });
    }

    /** The stream's staging memory; an array of a closed stream is copied through a mapping of its own. */
    private StagingMapping staging(long stream) {
        WorkerStream s = streams.get(stream);
        return s != null ? s.staging : StagingMapping.forOneCopy();
    }

    /** The stream's own engine copies; a closed stream's arrays are copied by an internal stream. */
    private StreamEngine copier(long stream) {
        WorkerStream s = streams.get(stream);
        if (s != null && s.engine() != null) {
            return s.engine();
        }
        synchronized (this) {
            if (copyStream == null) {
                WorkerStream c = new WorkerStream(this, COPY_STREAM, "host-copies");
                c.open(engine.openStream(c.sink));
                copyStream = c;
            }
            return copyStream.engine();
        }
    }

    // ------------------------------------------------------------------ talking to the host

    /** Sends a report; a host that cannot be told is gone, and so is this worker. */
    void report(Frame f) {
        try {
            host.send(f);
        } catch (IOException e) {
            WorkerExit.halt(
                    0,
                    "a report to the host could not be sent (" + e + ") on thread "
                            + Thread.currentThread().getName());
        }
    }

    long newRequest() {
        return requests.incrementAndGet();
    }

    /** Asks the host and waits for its answer; null if {@code abandon} becomes true first. */
    FrameReader ask(long request, Frame question, BooleanSupplier abandon) {
        CompletableFuture<FrameReader> answer = new CompletableFuture<>();
        asked.put(request, answer);
        try {
            report(question);
            for (; ; ) {
                try {
                    return answer.get(10, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (abandon.getAsBoolean()) {
                        return null;
                    }
                } catch (ExecutionException e) {
                    return null;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        } finally {
            asked.remove(request);
        }
    }

    /** An error as it goes to the host: the host's own token if it came from there. */
    WireError wire(StreamError error) {
        Long token = hostErrors.remove(error);
        return WireError.of(error, token == null ? 0 : token);
    }

    /** An error the host handed over, remembered so that it goes back as the host's own object. */
    StreamError fromHost(WireError e, WorkerStream stream) {
        StreamId id = stream == null ? new StreamId(backendId, COPY_STREAM) : stream.id;
        StreamError error = e.toError(backendId, id, stream == null ? "" : stream.label, null, "");
        hostErrors.put(error, e.token());
        return error;
    }

    private interface Work {
        void run() throws IOException;
    }

    /** Runs a request's work and replies: fine, bad input, the engine's failure, or anything else. */
    private void answer(long request, Work work) {
        Frame reply = new Frame(Message.REPLY).putLong(request);
        try {
            work.run();
            reply.putByte((byte) 0);
        } catch (IllegalArgumentException e) {
            reply.putByte((byte) 1).putString(String.valueOf(e.getMessage()));
        } catch (EngineFailure e) {
            reply.putByte((byte) 2).putEnum(e.scope());
            wire(e.error()).write(reply);
        } catch (Throwable t) {
            reply.putByte((byte) 3).putString(String.valueOf(t));
        }
        report(reply);
    }

    private void replyOk(long request) {
        report(new Frame(Message.REPLY).putLong(request).putByte((byte) 0));
    }
}
