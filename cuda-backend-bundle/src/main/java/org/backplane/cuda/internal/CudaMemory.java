package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.backplane.spi.device.NativeReaper;

/**
 * Device memory of one device. Blocks come from the stream-ordered pool ({@code cuMemAllocAsync}),
 * rounded up to a size class; when their array is closed or unreachable (by then no queued op uses
 * them any more) they go back to a cache of free blocks by size class, which later allocations of the
 * class take without calling the driver (a model allocates the same sizes layer after layer; the
 * driver call costs as much as a kernel launch). An allocation that fails for lack of memory first
 * returns the cached blocks to the driver and lets the GC find arrays nobody holds, then tries again.
 */
final class CudaMemory {
    private static final System.Logger LOG = System.getLogger(CudaMemory.class.getName());
    /** Size classes: multiples of 512 bytes up to 1 MiB, of 2 MiB above. */
    private static final long SMALL = 1L << 20;

    private static final long SMALL_STEP = 512;
    private static final long LARGE_STEP = 2L << 20;

    /** A device allocation of {@code capacity} bytes (its size class). */
    record Block(long pointer, long capacity) {}

    private final CudaDevice dev;
    private final NativeReaper<Block> reaper = new NativeReaper<>();
    private final Map<Long, ArrayDeque<Long>> cache = new HashMap<>();
    private long cachedBytes;

    CudaMemory(CudaDevice dev) {
        this.dev = dev;
    }

    static long sizeClass(long bytes) {
        long step = bytes <= SMALL ? SMALL_STEP : LARGE_STEP;
        return Math.ceilDiv(bytes, step) * step;
    }

    /**
     * Allocates {@code bytes}: a cached block of its size class, else one ordered on {@code stream};
     * {@code out} receives the pointer (8 bytes).
     *
     * @throws CudaCallException if CUDA refuses, out of memory included
     */
    DeviceBuffer allocate(long bytes, MemorySegment stream, MemorySegment out) {
        if (bytes == 0) {
            return new DeviceBuffer(null, 0, reaper);
        }
        long capacity = sizeClass(bytes);
        Long cached = take(capacity);
        if (cached != null) {
            return new DeviceBuffer(new Block(cached, capacity), bytes, reaper);
        }
        int r = CudaDevice.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, capacity, stream));
        if (r == CudaError.OUT_OF_MEMORY) {
            reclaim(stream); // cached blocks, and arrays nobody holds any more, may free enough
            r = CudaDevice.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, capacity, stream));
        }
        dev.check(r, "cuMemAllocAsync of " + bytes + " bytes");
        return new DeviceBuffer(new Block(out.get(JAVA_LONG, 0), capacity), bytes, reaper);
    }

    private synchronized Long take(long capacity) {
        ArrayDeque<Long> free = cache.get(capacity);
        Long p = free == null ? null : free.poll();
        if (p != null) {
            cachedBytes -= capacity;
        }
        return p;
    }

    private synchronized void keep(Block b) {
        cache.computeIfAbsent(b.capacity(), c -> new ArrayDeque<>()).push(b.pointer());
        cachedBytes += b.capacity();
    }

    /** Bytes held in the cache of free blocks. */
    synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** Caches what was closed or became unreachable; user threads only, context current. */
    void drain(MemorySegment stream) {
        reaper.drain(this::keep);
    }

    /** Returns every cached block to the driver, ordered on {@code stream}. */
    void release(MemorySegment stream) {
        reaper.drain(this::keep);
        Map<Long, ArrayDeque<Long>> all;
        synchronized (this) {
            all = new HashMap<>(cache);
            cache.clear();
            cachedBytes = 0;
        }
        for (ArrayDeque<Long> free : all.values()) {
            for (long p : free) {
                int r = CudaDevice.invoke(() -> (int) dev.driver.cuMemFreeAsync.invokeExact(p, stream));
                if (r != 0) {
                    LOG.log(System.Logger.Level.WARNING, () -> "cuMemFreeAsync failed: " + dev.describe(r));
                }
            }
        }
    }

    private void reclaim(MemorySegment stream) {
        release(stream);
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        release(stream);
        CudaDevice.invoke(() -> (int) dev.driver.cuStreamSynchronize.invokeExact(stream));
    }
}
