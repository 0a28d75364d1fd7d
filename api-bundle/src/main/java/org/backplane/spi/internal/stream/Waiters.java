package org.backplane.spi.internal.stream;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Threads waiting for something on a stream. Signalling only unparks threads, so it never blocks
 * and is safe inside driver callbacks (S1). Waiters re-check their condition at least every few
 * milliseconds, so a lost wake-up costs latency, never a hang.
 */
final class Waiters {
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final ConcurrentLinkedQueue<Thread> parked = new ConcurrentLinkedQueue<>();

    void signalAll() {
        for (Thread t : parked) {
            LockSupport.unpark(t);
        }
    }

    /** Waits until {@code done}; returns false (interrupt status set again) if interrupted first. */
    boolean await(BooleanSupplier done) {
        return await(done, Long.MAX_VALUE, true);
    }

    /** Waits until {@code done}, ignoring interrupts (restoring the interrupt status afterwards). */
    void awaitUninterruptibly(BooleanSupplier done) {
        await(done, Long.MAX_VALUE, false);
    }

    /** Waits until {@code done} or the timeout; returns whether {@code done} holds. Ignores interrupts. */
    boolean await(BooleanSupplier done, long timeoutNanos) {
        return await(done, timeoutNanos, false);
    }

    private boolean await(BooleanSupplier done, long timeoutNanos, boolean interruptible) {
        if (done.getAsBoolean()) {
            return true;
        }
        Thread me = Thread.currentThread();
        long deadline = timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        parked.add(me);
        try {
            while (!done.getAsBoolean()) {
                if (Thread.interrupted()) {
                    interrupted = true;
                    if (interruptible) {
                        return false;
                    }
                }
                long left = deadline == Long.MAX_VALUE ? RECHECK_NANOS : deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                LockSupport.parkNanos(this, Math.min(left, RECHECK_NANOS));
            }
            return true;
        } finally {
            parked.remove(me);
            if (interrupted) {
                me.interrupt();
            }
        }
    }
}
