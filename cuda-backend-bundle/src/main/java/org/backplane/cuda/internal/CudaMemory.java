package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import org.backplane.spi.device.NativeReaper;

/**
 * Device memory from the stream-ordered pool ({@code cuMemAllocAsync}), freed with
 * {@code cuMemFreeAsync} on a user thread once its array is closed or unreachable. An allocation
 * that fails for lack of memory first lets the GC find arrays nobody holds, then tries again.
 */
final class CudaMemory {
    private static final System.Logger LOG = System.getLogger(CudaMemory.class.getName());

    private final CudaDevice dev;
    private final NativeReaper<Long> reaper = new NativeReaper<>();

    CudaMemory(CudaDevice dev) {
        this.dev = dev;
    }

    /**
     * Allocates {@code bytes} ordered on {@code stream}; {@code out} receives the pointer (8 bytes).
     *
     * @throws CudaCallException if CUDA refuses, out of memory included
     */
    DeviceBuffer allocate(long bytes, MemorySegment stream, MemorySegment out) {
        if (bytes == 0) {
            return new DeviceBuffer(0, 0, reaper);
        }
        int r = CudaDevice.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, bytes, stream));
        if (r == CudaError.OUT_OF_MEMORY) {
            reclaim(stream); // arrays nobody holds any more may free enough
            r = CudaDevice.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, bytes, stream));
        }
        dev.check(r, "cuMemAllocAsync of " + bytes + " bytes");
        return new DeviceBuffer(out.get(JAVA_LONG, 0), bytes, reaper);
    }

    /** Frees, ordered on {@code stream}, what was closed or became unreachable; user threads only, context current. */
    void drain(MemorySegment stream) {
        reaper.drain(p -> {
            int r = CudaDevice.invoke(() -> (int) dev.driver.cuMemFreeAsync.invokeExact((long) p, stream));
            if (r != 0) {
                LOG.log(System.Logger.Level.WARNING, () -> "cuMemFreeAsync failed: " + dev.describe(r));
            }
        });
    }

    private void reclaim(MemorySegment stream) {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drain(stream);
        CudaDevice.invoke(() -> (int) dev.driver.cuStreamSynchronize.invokeExact(stream));
    }
}
