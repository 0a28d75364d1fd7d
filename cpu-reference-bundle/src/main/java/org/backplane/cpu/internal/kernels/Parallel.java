package org.backplane.cpu.internal.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Runs the chunks of one kernel on the calling thread and the backend's compute pool. Chunks are
 * handed out dynamically, so a busy pool (other streams' kernels) only means the caller does more
 * of the work itself; helpers that never started are claimed back rather than waited for.
 */
public final class Parallel {
    private final ExecutorService pool;
    private final int helpers;

    /**
     * @param pool the compute pool, or null to run everything on the calling thread
     * @param helpers how many pool threads one kernel may use besides the caller
     */
    public Parallel(ExecutorService pool, int helpers) {
        this.pool = pool;
        this.helpers = pool == null ? 0 : Math.max(0, helpers);
    }

    /** Threads one kernel can use, the caller included. */
    public int threads() {
        return helpers + 1;
    }

    /** Runs {@code body(i)} for every {@code i} in {@code [0, chunks)}; rethrows the first failure. */
    public void forEach(int chunks, IntConsumer body, Cancel cancel) {
        if (chunks <= 0) {
            return;
        }
        if (chunks == 1 || helpers == 0) {
            for (int i = 0; i < chunks; i++) {
                cancel.check();
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Throwable[] failure = new Throwable[1];
        Runnable worker = () -> {
            int i;
            while ((i = next.getAndIncrement()) < chunks) {
                if (cancel.isCancelled()) {
                    return;
                }
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    synchronized (failure) {
                        if (failure[0] == null) {
                            failure[0] = t;
                        }
                    }
                    next.set(chunks); // stop handing out chunks
                    return;
                }
            }
        };
        int n = Math.min(helpers, chunks - 1);
        List<Helper> helping = new ArrayList<>(n);
        try {
            for (int h = 0; h < n; h++) {
                Helper helper = new Helper(worker);
                pool.execute(helper);
                helping.add(helper);
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the pool is shutting down: the caller does the rest alone
        }
        worker.run();
        for (Helper h : helping) {
            h.finishOrPreempt();
        }
        if (failure[0] != null) {
            rethrow(failure[0]);
        }
        cancel.check();
    }

    /**
     * A pool task that helps with one kernel. The caller, once out of chunks, claims every helper
     * that has not started yet (so it never waits behind other streams' work in the pool queue) and
     * waits for those that did start.
     */
    private static final class Helper implements Runnable {
        private final Runnable work;
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final CountDownLatch done = new CountDownLatch(1);

        Helper(Runnable work) {
            this.work = work;
        }

        @Override
        public void run() {
            if (!claimed.compareAndSet(false, true)) {
                return;
            }
            try {
                work.run();
            } finally {
                done.countDown();
            }
        }

        void finishOrPreempt() {
            if (claimed.compareAndSet(false, true)) {
                return; // never started; when the pool runs it, it returns at once
            }
            boolean interrupted = false;
            for (; ; ) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
