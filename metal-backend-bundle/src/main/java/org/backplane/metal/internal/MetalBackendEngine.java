package org.backplane.metal.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * The Metal backend's device level: the Objective-C runtime binding, the {@code MTLDevice}, the
 * kernels, the buffers, the completion handlers' upcall stub and the committer thread. All of it
 * belongs to this instance; {@link #shutdown} releases it only when no handler can run any more
 * (S11).
 */
final class MetalBackendEngine implements BackendEngine {
    private static final System.Logger LOG = System.getLogger(MetalBackendEngine.class.getName());

    private final ObjcRuntime rt;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment device;
    private final String name;
    private final long workingSet;
    private final long maxBufferLength;
    private final MetalKernels kernels;
    private final MetalMemory memory;
    private final MetalHandlers handlers;
    private final MetalCommitter committer;

    /**
     * Opens the system's default Metal device.
     *
     * @throws IllegalStateException if a library does not load or there is no device
     */
    MetalBackendEngine(MetalPlatform platform) {
        try {
            this.rt = new ObjcRuntime(platform);
            this.device = rt.newSystemDefaultDevice();
            MemorySegment pool = rt.pushPool();
            try {
                this.name = rt.string(rt.id(device, "name"));
                this.workingSet = rt.word(device, "recommendedMaxWorkingSetSize");
                this.maxBufferLength = rt.word(device, "maxBufferLength");
            } finally {
                rt.popPool(pool);
            }
            this.kernels = new MetalKernels(rt, device);
            this.handlers = new MetalHandlers(rt, arena);
            this.memory = new MetalMemory(rt, device, handlers::pending);
            this.committer = new MetalCommitter();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public StreamEngine openStream(StreamSink sink) {
        return new MetalStreamEngine(rt, device, kernels, memory, handlers, committer, sink);
    }

    @Override
    public String deviceLossAdvice() {
        return "Metal reported the GPU removed or this process's access to it revoked. Restart the Metal backend (a change of "
                + "its configuration, or bundle:restart org.backplane.metal) once the GPU is back; other backends keep running.";
    }

    @Override
    public void shutdown(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean committerStopped = committer.stop(timeout);
        if (!handlers.awaitQuiet(deadline) || !committerStopped) {
            // A handler may still come: freeing the upcall stub now would crash the JVM. Leak instead.
            LOG.log(
                    System.Logger.Level.ERROR,
                    () -> handlers.pending() + " Metal completion handlers still pending at stop; the "
                            + "Metal backend's native memory is left allocated rather than risk a handler calling freed code");
            return;
        }
        MemorySegment pool = rt.pushPool();
        try {
            // Buffers of arrays still referenced stay: a caller may still read them (like the CUDA backend's
            // memory). Those nobody holds are found and released now: no drain comes after the stop.
            memory.reclaim();
            kernels.release();
            rt.release(device);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing Metal objects failed", e);
        } finally {
            rt.popPool(pool);
        }
        // The last handler has left Java code but may still be returning through the stub's few
        // instructions: give it a moment before the stub's memory goes.
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        arena.close();
    }

    String name() {
        return name;
    }

    long workingSet() {
        return workingSet;
    }

    long maxBufferLength() {
        return maxBufferLength;
    }

    Map<String, String> details() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("platform", rt.platform.describe());
        d.put("kernels", "MSL, compiled at first use with newLibraryWithSource (fast math off)");
        d.put("memory", "shared storage (unified memory)");
        d.put("max buffer", String.valueOf(maxBufferLength));
        return d;
    }
}
