package org.backplane.spi;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The backend's result-checking thread: batches holding sampled ops (and the batches queued behind
 * them on the same stream) wait here, in completion order, until their check has run. Owned by one
 * {@link BackendCore}; started when a checker is first installed, joined when the backend stops.
 */
final class ResultVerifier {
    private static final System.Logger LOG = System.getLogger(ResultVerifier.class.getName());

    private final BackendCore backend;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread thread;

    ResultVerifier(BackendCore backend) {
        this.backend = backend;
        this.thread = Thread.ofPlatform().daemon().name("backplane-" + backend.id() + "-verifier").unstarted(this::run);
        thread.start();
    }

    /** Never blocks (the queue is unbounded; back-pressure already bounds batches in flight). */
    void enqueue(CommandBatch batch) {
        queue.add(batch);
    }

    private void run() {
        for (;;) {
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                continue; // only close() ends the thread
            }
            if (next == this) {
                return;
            }
            CommandBatch batch = (CommandBatch) next;
            try {
                batch.stream.verifyAndFinish(batch, backend.resultChecker());
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "result checking failed for " + batch.describe(), t);
            }
        }
    }

    void close(Duration timeout) {
        queue.add(this);
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
