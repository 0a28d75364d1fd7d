package org.backplane.isolation.internal.host;

import org.backplane.spi.ArrayStorage;
import org.backplane.spi.device.NativeReaper;

/**
 * An array's storage in the worker, as the host binds it: a number that the worker's storage table
 * knows, in the worker session that holds it. Released (the worker drops it) once: when its array
 * is closed or when this object becomes unreachable.
 */
final class RemoteStorage implements ArrayStorage {
    /** What a release tells the worker; holds nothing that keeps the storage reachable. */
    record Handle(WorkerSession session, long stream, long id, long bytes) {}

    final long id;
    final WorkerSession session;
    private final long bytes;
    private final NativeReaper<Handle>.Allocation allocation;

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

    void release() {
        allocation.release();
    }
}
