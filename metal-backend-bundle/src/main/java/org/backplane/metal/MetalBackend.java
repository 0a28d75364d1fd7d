package org.backplane.metal;

import org.backplane.api.ExecutionBackend;
import org.backplane.metal.internal.MetalAvailability;
import org.backplane.metal.internal.MetalBackends;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.DelegatingExecutionBackend;

/**
 * A running Metal backend instance on the system's default GPU. It owns the device, its streams'
 * command queues, the compiled kernels and the upcall stub for their completion handlers;
 * {@link #close()} stops it safely (S11).
 */
public final class MetalBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id}. */
    public static final String ID = MetalBackends.ID;

    private final ManagedBackend backend;

    private MetalBackend(ManagedBackend backend) {
        this.backend = backend;
    }

    /**
     * Starts a Metal backend.
     *
     * @throws IllegalStateException if this machine cannot run it, saying why
     */
    public static MetalBackend start(MetalSettings settings) {
        return new MetalBackend(MetalBackends.start(settings.library(), settings.common()));
    }

    /** Whether this machine can run the Metal backend with that library (empty: the default), and why not. */
    public static String availability(String library) {
        MetalAvailability a = MetalAvailability.probe(library);
        return (a.available() ? "available: " : "unavailable: ") + a.reason();
    }

    public static boolean isAvailable(String library) {
        return MetalAvailability.probe(library).available();
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
