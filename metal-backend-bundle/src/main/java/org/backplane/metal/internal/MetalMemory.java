package org.backplane.metal.internal;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.function.IntSupplier;
import org.backplane.spi.device.NativeReaper;

/**
 * Shared-storage buffers of one device, released on a user thread (inside an autorelease pool) once
 * their array is closed or unreachable, never on Metal's handler thread.
 */
final class MetalMemory {
    private final ObjcRuntime rt;
    private final MemorySegment device;
    private final NativeReaper<MemorySegment> reaper = new NativeReaper<>();
    /** Command buffers committed and not yet completed, on every stream of the device. */
    private final IntSupplier workInFlight;

    /** The longest an allocation waits for memory that work in flight still holds. */
    private static final Duration RETURN_WAIT = Duration.ofSeconds(5);

    MetalMemory(ObjcRuntime rt, MemorySegment device, IntSupplier workInFlight) {
        this.rt = rt;
        this.device = device;
        this.workInFlight = workInFlight;
    }

    /**
     * A new shared-storage buffer, or null when Metal returns nil (out of memory) even after
     * unreachable arrays' buffers were released and the work in flight ended or had {@link
     * #RETURN_WAIT} to give memory back. Call inside an autorelease pool, on a user thread.
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
        // A closed array's buffer lives on while command buffers that use it run (Metal retains it),
        // though the memory budget already counts it free (S12): a healthy stream's allocation
        // waits, bounded, for that memory rather than fail while work on the device gives it back.
        long deadline = System.nanoTime() + RETURN_WAIT.toNanos();
        while (buffer == null && workInFlight.getAsInt() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            reaper.drain(rt::release);
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
