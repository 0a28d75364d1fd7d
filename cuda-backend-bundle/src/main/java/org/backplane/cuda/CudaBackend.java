package org.backplane.cuda;

import java.util.Set;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.cuda.internal.CudaAvailability;
import org.backplane.cuda.internal.CudaBackendEngine;
import org.backplane.spi.BackendCore;
import org.backplane.spi.DelegatingExecutionBackend;

/**
 * A running CUDA backend instance on one device. It owns the device's primary context, its streams
 * and the upcall stub for their callbacks; {@link #close()} stops it safely (S11).
 */
public final class CudaBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id}. */
    public static final String ID = "cuda";

    private final BackendCore core;

    private CudaBackend(CudaSettings settings) {
        CudaBackendEngine engine = new CudaBackendEngine(settings.device(), settings.tf32(), settings.realFaults(),
                settings.cublasLibrary());
        Capabilities caps = new Capabilities(Set.of(DType.FLOAT32), engine.totalMemory(), Shape.MAX_RANK, false, "cuda");
        DeviceInfo device = new DeviceInfo(engine.name(), "NVIDIA", engine.totalMemory(), engine.multiprocessors(), engine.details());
        this.core = new BackendCore(ID, device, caps, engine, settings.common());
    }

    /**
     * Starts a CUDA backend.
     *
     * @throws IllegalStateException if this machine cannot run it, saying why
     */
    public static CudaBackend start(CudaSettings settings) {
        CudaAvailability availability = CudaAvailability.probe();
        if (!availability.available()) {
            throw new IllegalStateException("the CUDA backend cannot run here: " + availability.reason());
        }
        return new CudaBackend(settings);
    }

    /** Whether this machine can run the CUDA backend, and why not. */
    public static String availability() {
        CudaAvailability a = CudaAvailability.probe();
        return (a.available() ? "available: " : "unavailable: ") + a.reason();
    }

    public static boolean isAvailable() {
        return CudaAvailability.probe().available();
    }

    @Override
    protected ExecutionBackend delegate() {
        return core;
    }

    @Override
    public void close() {
        core.stop();
    }
}
