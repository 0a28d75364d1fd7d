package org.backplane.spi.runtime;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.api.StreamStateListener;
import org.backplane.api.StreamTransition;

/**
 * Delivers transitions to listeners (S8). Each listener has its own mailbox drained by its own
 * virtual thread, so a listener that throws or blocks delays nobody but itself. Publishing only
 * enqueues and starts a drainer: safe on driver threads. Each backend core owns one; the runtime
 * uses another for whiteboard listeners.
 */
public final class TransitionDispatcher implements AutoCloseable {
    /** A blocked listener's mailbox keeps at most this many transitions; older ones are dropped and counted. */
    public static final int MAILBOX_CAPACITY = 10_000;

    private static final System.Logger LOG = System.getLogger(TransitionDispatcher.class.getName());

    private final String name;
    private final CopyOnWriteArrayList<Mailbox> mailboxes = new CopyOnWriteArrayList<>();
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean closed;

    /** @param name prefix of the delivery threads' names */
    public TransitionDispatcher(String name) {
        this.name = name;
    }

    /** Adds a listener; adding the same listener again changes nothing. */
    public void add(StreamStateListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        if (closed) {
            throw new IllegalStateException(name + " is stopped");
        }
        mailboxes.addIfAbsent(new Mailbox(listener));
    }

    public void remove(StreamStateListener listener) {
        mailboxes.removeIf(m -> m.listener == listener);
    }

    /** Transitions waiting in all mailboxes (for tests of the bound). */
    int pendingForTest() {
        int n = 0;
        for (Mailbox m : mailboxes) {
            n += m.size.get();
        }
        return n;
    }

    /** Queues a transition for every listener. Never throws, never blocks. */
    public void publish(StreamTransition transition) {
        try {
            for (Mailbox m : mailboxes) {
                m.offer(transition);
            }
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "could not publish a stream transition", t);
            } catch (Throwable ignored) {
                // never let this reach a driver thread
            }
        }
    }

    /** Stops delivering: waits up to {@code timeoutMillis} for mailboxes to drain, then drops the rest. */
    @Override
    public void close() {
        close(1000);
    }

    void close(long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (running.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        closed = true;
        if (running.get() > 0) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    () -> name + ": " + running.get()
                            + " stream listener(s) still busy at stop; their pending notifications are dropped");
        }
        mailboxes.clear();
    }

    private final class Mailbox {
        final StreamStateListener listener;
        final ConcurrentLinkedQueue<StreamTransition> queue = new ConcurrentLinkedQueue<>();
        final AtomicInteger size = new AtomicInteger();
        final AtomicBoolean draining = new AtomicBoolean();
        final AtomicLong dropped = new AtomicLong();

        Mailbox(StreamStateListener listener) {
            this.listener = listener;
        }

        void offer(StreamTransition t) {
            if (size.incrementAndGet() > MAILBOX_CAPACITY && queue.poll() != null) {
                size.decrementAndGet();
                dropped.incrementAndGet();
            }
            queue.offer(t);
            schedule();
        }

        void schedule() {
            if (!closed && draining.compareAndSet(false, true)) {
                running.incrementAndGet();
                try {
                    Thread.ofVirtual().name(name + "-listener").start(this::drain);
                } catch (Throwable t) {
                    running.decrementAndGet();
                    draining.set(false);
                    throw t;
                }
            }
        }

        void drain() {
            try {
                for (; ; ) {
                    StreamTransition t;
                    while (!closed && (t = queue.poll()) != null) {
                        size.decrementAndGet();
                        try {
                            listener.onTransition(t);
                        } catch (Throwable e) {
                            LOG.log(System.Logger.Level.WARNING, "stream listener " + listener + " threw; ignored", e);
                        }
                    }
                    draining.set(false);
                    // A transition offered after the loop's last poll would otherwise wait for the next one.
                    if (closed || queue.isEmpty() || !draining.compareAndSet(false, true)) {
                        return;
                    }
                }
            } finally {
                running.decrementAndGet();
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Mailbox m && m.listener == listener;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(listener);
        }
    }
}
