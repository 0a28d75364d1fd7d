package org.backplane.spi.device;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Frees native memory behind array storage, once: when its owner closes it, or when the storage
 * becomes unreachable (queued work keeps its arrays reachable, so by then nothing uses it). The
 * freeing itself happens in {@link #drain}, on a thread that may call the native API (a user
 * thread), never on the driver's callback thread or the GC's.
 *
 * @param <H> the native handle (a device pointer, an Objective-C object)
 */
public final class NativeReaper<H> {
    private final ReferenceQueue<Object> unreachable = new ReferenceQueue<>();
    private final Set<Watch> watched = ConcurrentHashMap.newKeySet();
    /**
     * Released allocations not yet freed: a stack linked through the allocations themselves, so
     * that releasing allocates nothing (it runs where the heap may be exhausted: a stream's worker
     * letting go of a batch's buffers, S13).
     */
    private final AtomicReference<Allocation> toFree = new AtomicReference<>();

    /** One native allocation, freed once by whichever comes first: {@link #release} or unreachability. */
    public final class Allocation {
        private final H handle;
        private final AtomicBoolean released = new AtomicBoolean();
        private Watch watch;
        private Allocation nextToFree;

        private Allocation(H handle) {
            this.handle = handle;
        }

        public H handle() {
            return handle;
        }

        /**
         * Queues the memory to be freed by the next {@link #drain}; later calls do nothing. The
         * owner's watch is dropped at once, so that the collector has no reference left to process
         * for memory that was released explicitly.
         */
        public void release() {
            if (released.compareAndSet(false, true)) {
                Watch w = watch;
                if (w != null) {
                    w.clear();
                    watched.remove(w);
                }
                push(this, this);
            }
        }

        public boolean isReleased() {
            return released.get();
        }
    }

    /** Watches an owner's reachability; holds what releases its allocation, never the owner. */
    private static final class Watch extends PhantomReference<Object> {
        final Runnable release;

        Watch(Object owner, ReferenceQueue<Object> queue, Runnable release) {
            super(owner, queue);
            this.release = release;
        }
    }

    /** Tracks {@code handle}, freed when {@code owner} (the storage object) becomes unreachable or is released. */
    public Allocation track(Object owner, H handle) {
        Allocation a = new Allocation(handle);
        Watch w = new Watch(owner, unreachable, a::release);
        a.watch = w;
        watched.add(w);
        return a;
    }

    /** Frees, with {@code free}, what became unreachable or was released. Call on a thread allowed to call the native API. */
    public void drain(Consumer<H> free) {
        Reference<?> ref;
        while ((ref = unreachable.poll()) != null) {
            Watch w = (Watch) ref;
            watched.remove(w);
            w.release.run();
        }
        Allocation a = toFree.getAndSet(null);
        while (a != null) {
            Allocation next = a.nextToFree;
            a.nextToFree = null;
            try {
                free.accept(a.handle);
            } catch (RuntimeException | Error e) {
                if (next != null) {
                    push(next, last(next)); // the rest stay queued for the next drain
                }
                throw e;
            }
            a = next;
        }
    }

    /** Pushes the chain {@code first..last} (linked through {@code nextToFree}) onto {@link #toFree}. */
    private void push(Allocation first, Allocation last) {
        Allocation head;
        do {
            head = toFree.get();
            last.nextToFree = head;
        } while (!toFree.compareAndSet(head, first));
    }

    private Allocation last(Allocation first) {
        Allocation a = first;
        while (a.nextToFree != null) {
            a = a.nextToFree;
        }
        return a;
    }

    /**
     * After an allocation failed: lets the GC find storage nobody holds any more and frees it, so
     * that a retry may succeed.
     */
    public void reclaim(Consumer<H> free) {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drain(free);
    }

    /** Allocations watched and not yet found unreachable. */
    public int watched() {
        return watched.size();
    }
}
