package org.backplane.cuda.internal;

import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.device.NativeReaper;

/**
 * Device memory behind one array. Freed once: when its array is closed and no queued op on any
 * stream still uses it, or when it becomes unreachable (queued work keeps its arrays reachable, so
 * by then every op that used it has completed).
 */
final class DeviceBuffer implements ArrayStorage {
    final long pointer;
    final long bytes;
    /** Null for an empty buffer (nothing to free). */
    final NativeReaper<CudaMemory.Block>.Allocation allocation;
    /** Ops encoded on any stream that read or write this buffer and have not completed yet. */
    private final AtomicInteger uses = new AtomicInteger();

    private volatile boolean closed;

    DeviceBuffer(CudaMemory.Block block, long bytes, NativeReaper<CudaMemory.Block> reaper) {
        this.pointer = block == null ? 0 : block.pointer();
        this.bytes = bytes;
        this.allocation = block == null ? null : reaper.track(this, block);
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    /** An encoded op uses the buffer. */
    void use() {
        uses.incrementAndGet();
    }

    /** An op that used the buffer has ended; true if the buffer may now be freed. */
    boolean done() {
        return uses.decrementAndGet() == 0 && closed;
    }

    /** Its array was closed; true if no op uses the buffer any more, so it may be freed now. */
    boolean close() {
        closed = true;
        return uses.get() == 0;
    }

    /** Queues the memory for freeing (once). */
    void free() {
        if (allocation != null) {
            allocation.release();
        }
    }
}
