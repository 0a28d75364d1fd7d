package org.backplane.isolation.internal.host;

import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.device.NativeReaper;

/**
 * An array's storage in the worker, as the host binds it: a number that the worker's storage table
 * knows, in the worker session that holds it. Released (the worker drops it) once: when its array
 * was closed and no batch that reads it is still on its way — encoded, committed, not yet ended —
 * or when this object becomes unreachable. A release sent earlier would reach the worker before the
 * batch that reads the storage, which would then find it gone.
 */
final class RemoteStorage implements ArrayStorage {
    /** What a release tells the worker; holds nothing that keeps the storage reachable. */
    record Handle(WorkerSession session, long stream, long id, long bytes) {}

    private static final int CLOSED = 1 << 30;

    final long id;
    final WorkerSession session;
    private final long bytes;
    private final NativeReaper<Handle>.Allocation allocation;
    /** Batches that read it and have not ended; {@link #CLOSED} once its array was closed. */
    private final AtomicInteger state = new AtomicInteger();

    RemoteStorage(WorkerSession session, long stream, long id, long bytes, NativeReaper<Handle> reaper) {
        this.id = id;
        this.session = session;
        this.bytes = bytes;
        this.allocation = reaper.track(this, new Handle(session, stream, id, bytes));
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    /** A batch that reads it was encoded; false if its array was closed already. */
    boolean use() {
        for (; ; ) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /** A batch that read it ended (or will never be sent). */
    void done() {
        if (state.decrementAndGet() == CLOSED) {
            allocation.release();
        }
    }

    /** Its array was closed: released now, or when the last batch that reads it ends. */
    void release() {
        if (state.getAndUpdate(s -> s | CLOSED) == 0) {
            allocation.release();
        }
    }
}
