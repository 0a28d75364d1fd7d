package org.backplane.metal.internal;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An array's storage: a shared-storage {@code MTLBuffer} (one allocation that CPU and GPU both see,
 * Apple silicon's unified memory) and its contents. Command buffers retain the buffers their
 * encoders use, so releasing ours while work is queued is safe, as in Metal.
 */
final class MetalBuffer {
    /** An empty array's storage: nothing allocated (Metal refuses zero-length buffers). */
    static final MetalBuffer EMPTY = new MetalBuffer(MemorySegment.NULL, MemorySegment.NULL, 0);

    final MemorySegment object;
    final MemorySegment contents;
    final long bytes;
    final AtomicBoolean released = new AtomicBoolean();

    MetalBuffer(MemorySegment object, MemorySegment contents, long bytes) {
        this.object = object;
        this.contents = contents;
        this.bytes = bytes;
    }

    boolean isEmpty() {
        return bytes == 0;
    }
}
