package org.backplane.spi.internal.stream;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.backplane.spi.ResultChecker;

/**
 * Completes batches that the engine reported done but that cannot be released yet: those holding
 * ops sampled for result checking, those whose inputs from other streams have not settled (a GPU
 * can finish the consumer before the producer's completion is reported), and any batch queued
 * behind one of these on the same stream, so that a stream's completion order never changes.
 *
 * <p>One thread per backend, started on first need and joined when the backend stops. It keeps a
 * queue per stream and releases the head of a queue only when its inputs have settled, so it never
 * waits on one stream while another could make progress.
 */
public final class DeferredCompletion {
    private static final System.Logger LOG = System.getLogger(DeferredCompletion.class.getName());
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    /** A stream's completion, as this thread drives it. */
    interface Target {
        boolean inputsSettled(BatchImpl batch);

        void checkAndFinish(BatchImpl batch, ResultChecker checker);
    }

    private final BackendContext backend;
    private final Map<Target, ConcurrentLinkedDeque<BatchImpl>> queues = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stopping;

    public DeferredCompletion(BackendContext backend) {
        this.backend = backend;
        this.thread = Thread.ofPlatform()
                .daemon()
                .name("backplane-" + backend.id() + "-completion")
                .unstarted(this::run);
        thread.start();
    }

    /** Never blocks. */
    void enqueue(Target target, BatchImpl batch) {
        queues.computeIfAbsent(target, s -> new ConcurrentLinkedDeque<>()).add(batch);
        LockSupport.unpark(thread);
    }

    /** Something settled somewhere: look again. Never blocks. */
    public void wake() {
        LockSupport.unpark(thread);
    }

    private void run() {
        while (!stopping) {
            boolean progress = false;
            for (Map.Entry<Target, ConcurrentLinkedDeque<BatchImpl>> e : queues.entrySet()) {
                BatchImpl head = e.getValue().peek();
                if (head == null || !e.getKey().inputsSettled(head)) {
                    continue;
                }
                e.getValue().poll();
                progress = true;
                try {
                    e.getKey().checkAndFinish(head, backend.resultChecker());
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.ERROR, "deferred completion failed for " + head.describe(), t);
                }
            }
            if (!progress) {
                LockSupport.parkNanos(this, IDLE_NANOS);
            }
        }
    }

    public void close(Duration timeout) {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.log(System.Logger.Level.WARNING, () -> thread.getName() + " did not stop within " + timeout);
        }
    }
}
