package org.backplane.isolation.internal.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamError;
import org.backplane.api.StreamId;
import org.backplane.api.fault.FaultRule;
import org.backplane.isolation.internal.wire.ArrayRef;
import org.backplane.isolation.internal.wire.FrameReader;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.EngineFailure;
import org.backplane.spi.Op;
import org.backplane.spi.StreamEngine;

/**
 * One stream in the worker: the real engine's stream, fed in the host's order by one thread, and
 * the batches it has not reported yet (a later batch on another stream may wait for one of them).
 */
final class WorkerStream {
    final long number;
    final StreamId id;
    final String label;
    final WorkerSink sink;
    /** The host's staging file for this stream's copies, as mapped here. */
    final StagingMapping staging = new StagingMapping();

    final ConcurrentHashMap<Long, WorkerBatch> batches = new ConcurrentHashMap<>();
    private final WorkerServer server;
    private final SerialExecutor executor;
    private volatile StreamEngine engine;
    /** The newest generation the host committed work of. */
    private volatile long generation;
    /** The newest generation known to have failed: nothing of it or before it runs any more (S4). */
    private volatile long failedGeneration = -1;
    /** The last batch encoded (or refused); consumers on other streams wait for their producer's. */
    private final Object encodedLock = new Object();

    private long encodedUpTo;
    private static final Duration ENCODE_WAIT = Duration.ofSeconds(30);

    WorkerStream(WorkerServer server, long number, String label) {
        this.server = server;
        this.number = number;
        this.label = label;
        this.id = new StreamId(server.backendId(), number);
        this.sink = new WorkerSink(server, this);
        this.executor = new SerialExecutor("backplane-worker-stream-" + number);
    }

    void open(StreamEngine e) {
        this.engine = e;
    }

    StreamEngine engine() {
        return engine;
    }

    long generation() {
        return generation;
    }

    boolean runs(long g) {
        return g == generation && g > failedGeneration;
    }

    void failed(long g) {
        if (g > failedGeneration) {
            failedGeneration = g;
        }
    }

    /** Runs a task of this stream's after the ones before it; false if the stream closed first. */
    boolean submit(Runnable task) {
        return executor.execute(task);
    }

    /** A committed batch: builds its ops, lets the engine encode them, commits. Never throws. */
    void commit(FrameReader in) {
        long batchId = -1;
        try {
            batchId = in.getLong();
            decodeAndCommit(batchId, in);
        } catch (RuntimeException e) {
            System.err.println("worker stream " + number + ": a batch could not be read: " + e);
        } finally {
            encoded(batchId);
        }
    }

    private void encoded(long batchId) {
        synchronized (encodedLock) {
            encodedUpTo = Math.max(encodedUpTo, batchId);
            encodedLock.notifyAll();
        }
    }

    /** Waits (bounded) until this stream has encoded its batch {@code batchId}, or is closing. */
    void awaitEncoded(long batchId) {
        long deadline = System.nanoTime() + ENCODE_WAIT.toNanos();
        synchronized (encodedLock) {
            while (encodedUpTo < batchId && !executor.isShutdown()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return; // then the engine meets an unbound storage and fails that batch clearly
                }
                try {
                    encodedLock.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void decodeAndCommit(long batchId, FrameReader in) {
        long g = in.getLong();
        int n = in.getInt();
        if (g > generation) {
            generation = g;
        }
        List<Command> commands = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long sequence = in.getLong();
            Op op = (Op) server.values().read(in);
            boolean verified = in.getBoolean();
            FaultRule fault = (FaultRule) server.values().read(in);
            EngineArray out = server.array(ArrayRef.read(in));
            int inputs = in.getInt();
            List<EngineArray> args = new ArrayList<>(inputs);
            for (int k = 0; k < inputs; k++) {
                ArrayRef ref = ArrayRef.read(in);
                if (ref.stream() != number && ref.producer() != 0) {
                    server.awaitEncoded(ref.stream(), ref.producer()); // its storage is bound by then
                }
                args.add(server.array(ref));
            }
            commands.add(new WorkerCommand(sequence, op, args, out, fault, verified));
        }
        WorkerBatch batch = new WorkerBatch(this, batchId, g, commands);
        batches.put(batchId, batch);
        if (!batch.shouldRun()) {
            sink.discarded(batch); // committed before the host knew its generation failed
            return;
        }
        try {
            for (Command c : commands) {
                engine.encode(batch, c);
            }
        } catch (EngineFailure e) {
            engine.discarded(batch);
            sink.failed(batch, e.error(), e.scope());
            return;
        } catch (IllegalArgumentException e) {
            engine.discarded(batch);
            sink.failed(
                    batch,
                    sink.error(ErrorKind.INVALID_ARGUMENT)
                            .message(e.getMessage())
                            .batch(batch)
                            .build());
            return;
        } catch (Throwable t) {
            sink.failedUnexpectedly(batch, t);
            return;
        }
        engine.commit(batch);
    }

    /** A host thread waits for {@code batchId}: the engine may poll for its end (briefly). */
    void expedite(long batchId) {
        WorkerBatch b = batches.get(batchId);
        if (b != null) {
            engine.expediteCompletion(b);
        }
    }

    /** Reset (S7): everything of the failed generation is dropped; the engine rebuilds its native side. */
    void rebuild(Duration timeout) {
        failed(generation);
        engine.rebuild(timeout);
    }

    /** Closes the engine's stream, then its staging memory (after a copy that still uses it). */
    void close(Duration timeout, StreamError abort) {
        try {
            engine.close(timeout, abort);
        } finally {
            executor.shutdown();
            staging.close();
        }
    }
}
