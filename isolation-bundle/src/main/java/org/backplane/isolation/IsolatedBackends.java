package org.backplane.isolation;

import java.util.Map;
import java.util.Objects;
import org.backplane.isolation.internal.host.IsolatedEngine;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.Backends;

/** Starts backends whose engine runs in a supervised worker process. */
public final class IsolatedBackends {
    private IsolatedBackends() {}

    /**
     * Starts the first worker (waiting until its engine runs) and returns the backend that forwards
     * to it. The backend obeys the stream error contract in the host, exactly as an in-process one
     * does; a lost worker is a device loss (S9) that a reset recovers from with a fresh worker.
     *
     * @param id the {@code backend.id}
     * @param backend how the worker starts the real engine
     * @param configuration the backend's own configuration, handed to {@code backend} in the worker
     * @param common batching, timeouts, fault injection and memory, applied in the host
     * @param isolation heartbeat, restart limit, worker JVM options
     * @throws IllegalStateException if the worker cannot be started or its engine cannot start (with
     *     the reason and the end of the worker's log)
     */
    public static ManagedBackend start(
            String id,
            Class<? extends WorkerBackend> backend,
            Map<String, String> configuration,
            BackendSettings common,
            IsolationSettings isolation) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(configuration, "configuration");
        Objects.requireNonNull(common, "common");
        Objects.requireNonNull(isolation, "isolation");
        IsolatedEngine engine = IsolatedEngine.start(id, backend, Map.copyOf(configuration), isolation);
        try {
            return Backends.start(id, engine.device(), engine.capabilities(), engine, common);
        } catch (RuntimeException e) {
            engine.shutdown(isolation.startTimeout());
            throw e;
        }
    }
}
