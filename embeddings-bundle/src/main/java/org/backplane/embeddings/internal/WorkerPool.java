package org.backplane.embeddings.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.backplane.api.ComputeStream;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamException;
import org.backplane.api.StreamOptions;
import org.backplane.api.StreamState;
import org.backplane.embeddings.EmbeddingException;

/**
 * Worker streams that embed batches: a caller borrows one per batch. A batch whose stream fails
 * (a fault mid-model) is run again once after the stream is reset; the error goes to the log and
 * into the counters, and only a second failure reaches the caller, as an
 * {@link EmbeddingException} with the stream's error. Streams are opened on the backend the
 * supplier gives at the time, so a backend switch is followed without a restart.
 */
public final class WorkerPool implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WorkerPool.class.getName());

    private final Supplier<ExecutionBackend> backend;
    private final Embedder embedder;
    private final int batchSize;
    private final StreamOptions options;
    private final BlockingQueue<Worker> idle;
    private final List<Worker> all = new ArrayList<>();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong recovered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean closed;

    /** A worker: its stream, opened on demand, and the backend that stream belongs to. */
    private static final class Worker {
        final int index;
        ComputeStream stream;
        /** The backend object the stream was opened on (as the supplier gave it). */
        ExecutionBackend backend;

        Worker(int index) {
            this.index = index;
        }
    }

    public WorkerPool(Supplier<ExecutionBackend> backend, Embedder embedder, int workers, int batchSize) {
        this(backend, embedder, workers, batchSize, StreamOptions.DEFAULT);
    }

    /**
     * @param options how worker streams are opened: a memory quota keeps one oversize batch from
     *     taking the memory the other workers need (S12)
     */
    public WorkerPool(
            Supplier<ExecutionBackend> backend, Embedder embedder, int workers, int batchSize, StreamOptions options) {
        if (workers < 1 || batchSize < 1) {
            throw new IllegalArgumentException(
                    "workers and batchSize must be at least 1, not " + workers + " and " + batchSize);
        }
        this.backend = backend;
        this.embedder = embedder;
        this.batchSize = batchSize;
        this.options = options;
        this.idle = new ArrayBlockingQueue<>(workers);
        for (int i = 0; i < workers; i++) {
            Worker w = new Worker(i);
            all.add(w);
            idle.add(w);
        }
    }

    public Embedder embedder() {
        return embedder;
    }

    /** Texts per batch. */
    public int batchSize() {
        return batchSize;
    }

    /** How many worker streams the pool has (opened on demand). */
    public int workers() {
        return all.size();
    }

    /**
     * The vectors of {@code texts}, in order. The texts are grouped by their token length, so that
     * each batch pads only to about its own longest text (a single text runs unpadded), and the
     * call's batches run on idle workers in parallel: the first on the calling thread, the others on
     * virtual threads that each borrow a worker.
     */
    public List<float[]> embed(List<String> texts) {
        int[][] ids = embedder.tokenize(texts);
        List<int[]> batches = batches(ids);
        float[][] vectors = new float[ids.length][];
        List<Thread> others = new ArrayList<>();
        List<RuntimeException> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int b = 1; b < batches.size(); b++) {
            int[] batch = batches.get(b);
            others.add(Thread.ofVirtual().name("embeddings-batch").start(() -> {
                try {
                    run(batch, ids, vectors);
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }));
        }
        try {
            if (!batches.isEmpty()) {
                run(batches.getFirst(), ids, vectors);
            }
        } catch (RuntimeException e) {
            failures.add(e);
        }
        boolean interrupted = false;
        for (Thread t : others) {
            for (; ; ) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the batches hold workers: wait for them, then pass the interrupt on
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
        return Arrays.asList(vectors);
    }

    /**
     * How a call's tokenized texts are batched: indices into {@code ids}, grouped by token length
     * (shortest first; equal lengths in the caller's order), at most {@link #batchSize} a batch. A
     * call that fits one batch keeps the caller's order: that batch is what {@link Embedder#embed}
     * of the same texts runs, so both give the same bits.
     */
    public List<int[]> batches(int[][] ids) {
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (ids.length > batchSize) {
            Arrays.sort(order, Comparator.comparingInt(i -> ids[i].length)); // stable
        }
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < order.length; from += batchSize) {
            int[] batch = new int[Math.min(batchSize, order.length - from)];
            for (int j = 0; j < batch.length; j++) {
                batch[j] = order[from + j];
            }
            batches.add(batch);
        }
        return batches;
    }

    /** One batch (indices into {@code ids}), its vectors put where the caller's texts were. */
    private void run(int[] batch, int[][] ids, float[][] vectors) {
        int[][] tokens = new int[batch.length][];
        for (int j = 0; j < batch.length; j++) {
            tokens[j] = ids[batch[j]];
        }
        List<float[]> out = embedBatch(tokens);
        for (int j = 0; j < batch.length; j++) {
            vectors[batch[j]] = out.get(j);
        }
    }

    private List<float[]> embedBatch(int[][] batch) {
        Worker w = borrow();
        try {
            batches.incrementAndGet();
            try {
                return embedder.embedTokens(stream(w), batch);
            } catch (StreamException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        () -> "embedding worker " + w.index + " failed (" + e.getMessage() + "); resetting its stream "
                                + "and running the batch again");
                reset(w, e);
            }
            try {
                List<float[]> again = embedder.embedTokens(stream(w), batch);
                recovered.incrementAndGet();
                return again;
            } catch (StreamException e) {
                failed.incrementAndGet();
                reset(w, e);
                throw new EmbeddingException(
                        "a batch of " + batch.length + " texts failed on worker stream " + e.stream()
                                + " twice, also after a reset: " + e.getMessage(),
                        e instanceof StreamErrorException se ? se.error() : null,
                        e);
            }
        } finally {
            idle.add(w);
        }
    }

    private Worker borrow() {
        if (closed) {
            throw new EmbeddingException("the embedding service is closed", null, null);
        }
        try {
            return idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddingException("interrupted while waiting for a worker stream", null, e);
        }
    }

    /** The worker's stream, (re)opened on the current backend when it has none, or another backend's, or a closed one. */
    private ComputeStream stream(Worker w) {
        ExecutionBackend b = backend.get();
        if (b == null) {
            throw new EmbeddingException("no backend is available", null, null);
        }
        ComputeStream s = w.stream;
        if (s == null || w.backend != b || s.snapshot().state() == StreamState.CLOSED) {
            if (s != null) {
                closeQuietly(s);
            }
            s = b.openStream("embeddings-worker-" + w.index, options);
            w.stream = s;
            w.backend = b;
        }
        return s;
    }

    /** A failed stream is reset; a closed one (its backend stopped) is replaced at the next batch. */
    private void reset(Worker w, StreamException e) {
        ComputeStream s = w.stream;
        if (s == null || !(e instanceof StreamErrorException)) {
            w.stream = null;
            return;
        }
        try {
            s.backend().reset(s.id());
        } catch (RuntimeException r) {
            LOG.log(System.Logger.Level.WARNING, "resetting " + s.id() + " failed; a new stream will be opened", r);
            closeQuietly(s);
            w.stream = null;
        }
    }

    /** Closes a worker's stream; a failure it reports was already handled (the batch ran again or failed). */
    private static void closeQuietly(ComputeStream s) {
        try {
            s.close();
        } catch (StreamException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "closing " + s.id() + ": " + e.getMessage());
        }
    }

    /** Batches run, batches recovered by a reset and a second run, and batches that failed twice. */
    public long[] counters() {
        return new long[] {batches.get(), recovered.get(), failed.get()};
    }

    /** The worker streams (those opened), for the demo and tests. */
    public List<ComputeStream> streams() {
        List<ComputeStream> s = new ArrayList<>();
        for (Worker w : all) {
            if (w.stream != null) {
                s.add(w.stream);
            }
        }
        return s;
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : all) {
            if (w.stream != null) {
                closeQuietly(w.stream);
            }
        }
    }
}
