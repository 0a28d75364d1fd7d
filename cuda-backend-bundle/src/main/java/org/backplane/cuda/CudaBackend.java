package org.backplane.cuda;

import org.backplane.api.ExecutionBackend;
import org.backplane.cuda.internal.CudaAvailability;
import org.backplane.cuda.internal.CudaBackends;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.DelegatingExecutionBackend;

/**
 * A running CUDA backend instance on one device. It owns the device's primary context, its streams
 * and the upcall stub for their callbacks; {@link #close()} stops it safely (S11).
 */
public final class CudaBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id}. */
    public static final String ID = CudaBackends.ID;

    private final ManagedBackend backend;

    private CudaBackend(ManagedBackend backend) {
        this.backend = backend;
    }

    /**
     * Starts a CUDA backend.
     *
     * @throws IllegalStateException if this machine cannot run it, saying why
     */
    public static CudaBackend start(CudaSettings settings) {
        return new CudaBackend(CudaBackends.start(
                settings.device(),
                settings.tf32(),
                settings.realFaults(),
                settings.cublasLibrary(),
                settings.common()));
    }

    /**
     * Starts a CUDA backend in this process or, with {@code isolation.process()}, in a supervised
     * worker process (see {@link IsolationSettings}).
     *
     * @throws IllegalStateException if this machine cannot run it, or the worker cannot start, saying why
     */
    public static CudaBackend start(CudaSettings settings, IsolationSettings isolation) {
        return new CudaBackend(CudaBackends.start(
                settings.device(),
                settings.tf32(),
                settings.realFaults(),
                settings.cublasLibrary(),
                settings.common(),
                isolation));
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
        return backend;
    }

    @Override
    public void close() {
        backend.stop();
    }
}
