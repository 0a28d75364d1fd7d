package org.backplane.metal.internal;

import java.util.EnumSet;
import java.util.Map;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;
import org.backplane.isolation.IsolatedBackends;
import org.backplane.isolation.IsolationSettings;
import org.backplane.isolation.WorkerBackend;
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
        return start(library, common, IsolationSettings.NONE_DEFAULT);
    }

    /** Starts a Metal backend in this process or, with {@code isolation=process}, in a supervised worker process. */
    public static ManagedBackend start(String library, BackendSettings common, IsolationSettings isolation) {
        if (isolation.process()) {
            return IsolatedBackends.start(
                    ID, MetalWorkerBackend.class, Map.of(MetalWorkerBackend.LIBRARY, library), common, isolation);
        }
        WorkerBackend.Started s = engine(library);
        return Backends.start(ID, s.device(), s.capabilities(), s.engine(), common);
    }

    /** The engine on the default GPU, with what it runs on; in the host or in a worker process. */
    static WorkerBackend.Started engine(String library) {
        MetalBackendEngine engine;
        try {
            engine = new MetalBackendEngine(MetalPlatform.detect(library));
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the Metal backend cannot run here: " + e.getMessage(), e);
        }
        Capabilities caps =
                new Capabilities(EnumSet.allOf(DType.class), engine.maxBufferLength(), Shape.MAX_RANK, false, "metal");
        DeviceInfo device = new DeviceInfo(engine.name(), "Apple", engine.workingSet(), 0, engine.details());
        return new WorkerBackend.Started(engine, device, caps);
    }
}
