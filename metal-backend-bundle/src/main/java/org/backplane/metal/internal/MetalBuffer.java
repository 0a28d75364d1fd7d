package org.backplane.metal.internal;

import java.lang.foreign.MemorySegment;
import org.backplane.spi.ArrayStorage;
import org.backplane.spi.device.NativeReaper;

/**
 * An array's storage: a shared-storage {@code MTLBuffer} (one allocation that CPU and GPU both see,
 * Apple silicon's unified memory) and its contents. Command buffers retain the buffers their
 * encoders use, so releasing ours while work is queued is safe, as in Metal.
 */
final class MetalBuffer implements ArrayStorage {
    /** An empty array's storage: nothing allocated (Metal refuses zero-length buffers). */
    static final MetalBuffer EMPTY = new MetalBuffer(MemorySegment.NULL, MemorySegment.NULL, 0, null);

    final MemorySegment object;
    final MemorySegment contents;
    final long bytes;
    private final NativeReaper<MemorySegment>.Allocation allocation;

    MetalBuffer(MemorySegment object, MemorySegment contents, long bytes, NativeReaper<MemorySegment> reaper) {
        this.object = object;
        this.contents = contents;
        this.bytes = bytes;
        this.allocation = reaper == null ? null : reaper.track(this, object);
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    boolean isEmpty() {
        return bytes == 0;
    }

    /** Queues the {@code MTLBuffer} for release (once). */
    void release() {
        if (allocation != null) {
            allocation.release();
        }
    }
}
