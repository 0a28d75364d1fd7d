package org.backplane.metal.internal;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The thread that commits command buffers whose inputs another stream is still computing: their
 * place in their queue is reserved with {@code enqueue}, and they are committed here once the inputs
 * exist, off the submitting thread.
 */
final class MetalCommitter {
    private static final System.Logger LOG = System.getLogger(MetalCommitter.class.getName());

    private final LinkedBlockingQueue<Runnable> commits = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    MetalCommitter() {
        this.thread =
                Thread.ofPlatform().name("backplane-metal-committer").daemon().unstarted(this::run);
        thread.start();
    }

    void later(Runnable commit) {
        commits.add(commit);
    }

    /** Whether the backend is stopping (waits for inputs give up then). */
    boolean isStopping() {
        return stopping;
    }

    /**
     * Takes commits until stopped. It looks at {@code stopping} every few milliseconds rather than
     * relying on the interrupt alone: a commit that waits for its inputs may consume the interrupt
     * that the stop sent, and the thread would then wait in {@code take} for ever.
     */
    private void run() {
        while (true) {
            Runnable r;
            try {
                r = commits.poll(20, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                r = null;
            }
            if (r == null) {
                if (stopping && commits.isEmpty()) {
                    return;
                }
                continue;
            }
            try {
                r.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "deferred Metal commit failed", t);
            }
        }
    }

    /** Commits what is queued and stops; returns whether the thread ended within {@code timeout}. */
    boolean stop(Duration timeout) {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }
}
