package org.backplane.isolation.internal.worker;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * One thread running a stream's tasks in order. Before it parks it spins a little (where the machine
 * has cores to spare), because a batch, and the host's wait for it, usually follow each other within
 * microseconds: waking a parked thread would cost more than the op being dispatched.
 */
final class SerialExecutor {
    private static final long SPIN_NANOS = Runtime.getRuntime().availableProcessors() >= 4 ? 50_000 : 0;

    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean shutdown;

    SerialExecutor(String name) {
        this.thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
        thread.start();
    }

    /** Queues {@code task}; false (and not queued) once shut down. */
    boolean execute(Runnable task) {
        if (shutdown) {
            return false;
        }
        tasks.add(task);
        if (shutdown && tasks.remove(task)) {
            return false; // shut down meanwhile, and the thread may have seen its queue empty
        }
        LockSupport.unpark(thread);
        return true;
    }

    /** Runs what was queued before, then ends. */
    void shutdown() {
        shutdown = true;
        LockSupport.unpark(thread);
    }

    boolean isShutdown() {
        return shutdown;
    }

    private void run() {
        for (; ; ) {
            boolean stopping = shutdown; // read before the queue: a task queued before the shutdown is seen
            Runnable task = tasks.poll();
            if (task != null) {
                try {
                    task.run();
                } catch (Throwable t) {
                    System.err.println(thread.getName() + ": " + t);
                }
                continue;
            }
            if (stopping) {
                return;
            }
            long until = System.nanoTime() + SPIN_NANOS;
            while (tasks.isEmpty() && !shutdown && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            if (tasks.isEmpty() && !shutdown) {
                LockSupport.park(this);
            }
        }
    }
}
