package org.backplane.spi.device;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The work whose native completion callbacks are still to come, keyed by the number the native side
 * hands back as the callback's user data. One upcall stub serves every callback of a backend; the
 * stub's memory may be freed only when {@link #awaitQuiet} says no callback is pending or running,
 * or a late callback would jump into freed code and crash the JVM (S11).
 *
 * @param <P> what the engine needs to report one completion (its stream engine and batch)
 */
public final class CompletionRegistry<P> {
    private final Map<Long, P> pending = new ConcurrentHashMap<>();
    private final AtomicLong keys = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger();

    /** Registers work whose callback will come; returns the key to pass as the callback's user data. */
    public long expect(P work) {
        long key = keys.incrementAndGet();
        pending.put(key, work);
        return key;
    }

    /** The callback will not come after all (registering it with the driver failed). */
    public void forget(long key) {
        pending.remove(key);
    }

    /**
     * On the driver's thread: runs {@code handler} for the work registered under {@code key}, which
     * counts as running until the handler returns; an unknown key does nothing. Whatever the handler
     * throws goes to {@code onFailure} (with the work, or null if the lookup itself failed); nothing
     * escapes (S1).
     */
    public void complete(long key, Consumer<P> handler, BiConsumer<P, Throwable> onFailure) {
        running.incrementAndGet();
        P work = null;
        try {
            work = pending.get(key);
            if (work != null) {
                try {
                    handler.accept(work);
                } finally {
                    pending.remove(key); // only now may a shutdown free the stub this thread runs in
                }
            }
        } catch (Throwable t) {
            try {
                onFailure.accept(work, t);
            } catch (Throwable ignored) {
                // nothing may escape into the driver's thread
            }
        } finally {
            running.decrementAndGet();
        }
    }

    /** Callbacks registered and not yet run. */
    public int pending() {
        return pending.size();
    }

    /** Callbacks inside their handler right now. */
    public int running() {
        return running.get();
    }

    /**
     * Waits until no callback is pending or running, or until {@code deadlineNanos} ({@link System#nanoTime}).
     * Returns whether it is quiet: only then may the upcall stub be freed.
     */
    public boolean awaitQuiet(long deadlineNanos) {
        while ((!pending.isEmpty() || running.get() > 0) && System.nanoTime() < deadlineNanos) {
            Thread.onSpinWait();
        }
        return pending.isEmpty() && running.get() == 0;
    }
}
