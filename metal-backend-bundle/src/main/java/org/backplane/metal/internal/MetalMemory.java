package org.backplane.metal.internal;

import java.lang.foreign.MemorySegment;
import org.backplane.spi.device.NativeReaper;

/**
 * Shared-storage buffers of one device, released on a user thread (inside an autorelease pool) once
 * their array is closed or unreachable, never on Metal's handler thread.
 */
final class MetalMemory {
    private final ObjcRuntime rt;
    private final MemorySegment device;
    private final NativeReaper<MemorySegment> reaper = new NativeReaper<>();

    MetalMemory(ObjcRuntime rt, MemorySegment device) {
        this.rt = rt;
        this.device = device;
    }

    /**
     * A new shared-storage buffer, or null when Metal returns nil (out of memory) even after
     * unreachable arrays' buffers were released. Call inside an autorelease pool, on a user thread.
     */
    MetalBuffer allocate(long bytes) {
        if (bytes == 0) {
            return MetalBuffer.EMPTY;
        }
        MetalBuffer buffer = newBuffer(bytes);
        if (buffer == null) {
            reaper.reclaim(rt::release); // arrays nobody holds any more may free enough
            buffer = newBuffer(bytes);
        }
        return buffer;
    }

    private MetalBuffer newBuffer(long bytes) {
        MemorySegment object = rt.id(device, "newBufferWithLength:options:", bytes, 0L /* shared storage */);
        if (object.equals(MemorySegment.NULL)) {
            return null;
        }
        return new MetalBuffer(object, rt.id(object, "contents").reinterpret(bytes), bytes, reaper);
    }

    /** Lets the GC find buffers nobody holds any more and releases them with the closed ones (at stop). */
    void reclaim() {
        reaper.reclaim(rt::release);
    }

    /** Releases what was closed or became unreachable; on user threads, never for a poisoned stream. */
    void drain() {
        reaper.drain(rt::release);
    }
}
