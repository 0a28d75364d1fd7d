package org.backplane.metal;

import java.util.Set;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.metal.internal.MetalAvailability;
import org.backplane.metal.internal.MetalBackendEngine;
import org.backplane.metal.internal.MetalPlatform;
import org.backplane.spi.BackendCore;
import org.backplane.spi.DelegatingExecutionBackend;

/**
 * A running Metal backend instance on the system's default GPU. It owns the device, its streams'
 * command queues, the compiled kernels and the upcall stub for their completion handlers;
 * {@link #close()} stops it safely (S11).
 */
public final class MetalBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id}. */
    public static final String ID = "metal";

    private final BackendCore core;

    private MetalBackend(MetalSettings settings) {
        MetalBackendEngine engine;
        try {
            engine = new MetalBackendEngine(MetalPlatform.detect(settings.library()));
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the Metal backend cannot run here: " + e.getMessage(), e);
        }
        Capabilities caps = new Capabilities(Set.of(DType.FLOAT32), engine.maxBufferLength(), Shape.MAX_RANK,
                settings.common().faultInjection(), "metal");
        DeviceInfo device = new DeviceInfo(engine.name(), "Apple", engine.workingSet(), 0, engine.details());
        this.core = new BackendCore(ID, device, caps, engine, settings.common());
    }

    /**
     * Starts a Metal backend.
     *
     * @throws IllegalStateException if this machine cannot run it, saying why
     */
    public static MetalBackend start(MetalSettings settings) {
        return new MetalBackend(settings); // the engine says why when Metal, its libraries or a device are missing
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
        return core;
    }

    @Override
    public void close() {
        core.stop();
    }
}
