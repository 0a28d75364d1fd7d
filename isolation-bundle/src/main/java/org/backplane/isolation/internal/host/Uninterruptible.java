package org.backplane.isolation.internal.host;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Worker starts run on the host's own threads (a reset, a start), which their host may interrupt.
 * An interrupt there must not fail the start half-way (an interrupted thread's file copy or socket
 * fails for good), so the start runs with the interrupt held back and handed back afterwards.
 */
final class Uninterruptible {
    private Uninterruptible() {}

    /** Runs {@code work} with the thread's interrupt status cleared, and sets it again afterwards. */
    static <T> T call(Supplier<T> work) {
        boolean interrupted = Thread.interrupted();
        try {
            return work.get();
        } finally {
            if (interrupted || Thread.interrupted()) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Sleeps the whole time, whatever interrupts come; the interrupt status is kept. */
    static void sleep(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        boolean interrupted = false;
        for (long left = millis; left > 0; left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) {
            try {
                Thread.sleep(left);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
