package org.backplane.metal.internal;

import java.util.EnumSet;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.Backends;

/** Starts Metal backends, for the OSGi component and for {@code MetalBackend.start} alike. */
public final class MetalBackends {
    /** The {@code backend.id}. */
    public static final String ID = "metal";

    private MetalBackends() {}

    /**
     * Starts a Metal backend on the system's default GPU.
     *
     * @param library path of the Metal library to load; empty for Metal.framework (on Linux: the
     *     simulator's path, tests only)
     * @throws IllegalStateException if this machine cannot run it, saying why
     */
    public static ManagedBackend start(String library, BackendSettings common) {
        MetalBackendEngine engine;
        try {
            engine = new MetalBackendEngine(MetalPlatform.detect(library));
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the Metal backend cannot run here: " + e.getMessage(), e);
        }
        Capabilities caps =
                new Capabilities(EnumSet.allOf(DType.class), engine.maxBufferLength(), Shape.MAX_RANK, false, "metal");
        DeviceInfo device = new DeviceInfo(engine.name(), "Apple", engine.workingSet(), 0, engine.details());
        return Backends.start(ID, device, caps, engine, common);
    }
}
