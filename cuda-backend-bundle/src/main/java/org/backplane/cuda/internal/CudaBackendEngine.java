package org.backplane.cuda.internal;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Map;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * The CUDA backend's device level: the {@link CudaDevice}, its memory, and the upcall stub through
 * which every stream's completion callbacks arrive. All of it belongs to this instance;
 * {@link #shutdown} releases it only after every stream is closed and no callback can come any more
 * (S11).
 */
final class CudaBackendEngine implements BackendEngine {
    private static final System.Logger LOG = System.getLogger(CudaBackendEngine.class.getName());

    private final CudaDevice dev;
    private final CudaMemory memory;
    private final CudaCallbacks callbacks;

    /**
     * Opens device {@code ordinal}: retains its primary context, loads the kernels, binds cuBLAS.
     *
     * @throws CudaCallException if the driver refuses
     */
    CudaBackendEngine(int ordinal, boolean tf32, boolean realFaults, String cublasLibrary) {
        this.dev = new CudaDevice(ordinal, tf32, realFaults, cublasLibrary);
        this.memory = new CudaMemory(dev);
        this.callbacks = new CudaCallbacks(dev);
    }

    @Override
    public StreamEngine openStream(StreamSink sink) {
        return new CudaStreamEngine(dev, memory, callbacks, sink);
    }

    /** An error that corrupts the CUDA context cannot be undone in this process. */
    @Override
    public boolean canRebuildDevice() {
        return false;
    }

    @Override
    public String deviceLossAdvice() {
        return "CUDA errors such as illegal address (700) corrupt the CUDA context for the whole process: every later CUDA "
                + "call fails, and neither resetting the device nor creating a new context recovers it. Restart the process "
                + "to use " + dev.name + " again, or run the CUDA backend in a supervised worker process.";
    }

    @Override
    public void shutdown(Duration timeout) {
        if (!callbacks.awaitQuiet(System.nanoTime() + timeout.toNanos())) {
            // A callback may still arrive: freeing the upcall stub now would crash the JVM. Leak instead.
            LOG.log(
                    System.Logger.Level.ERROR,
                    () -> callbacks.pending() + " CUDA callbacks still pending at stop; the CUDA "
                            + "backend's native memory is left allocated rather than risk a callback into freed memory");
            return;
        }
        dev.close(() -> memory.release(MemorySegment.NULL));
    }

    public String name() {
        return dev.name;
    }

    /** Free blocks kept for reuse by size class (the arrays' own memory is counted by the SPI). */
    @Override
    public long pooledBytes() {
        return memory.cachedBytes();
    }

    public long totalMemory() {
        return dev.totalMemory;
    }

    public int multiprocessors() {
        return dev.multiprocessors;
    }

    public Map<String, String> details() {
        return dev.details();
    }
}
