package org.backplane.spi.backend;

import org.backplane.api.Capabilities;
import org.backplane.api.DeviceInfo;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.internal.backend.CoreBackend;

/** Turns a backend's engine into a running backend that obeys the stream error contract. */
public final class Backends {
    private Backends() {}

    /**
     * Starts a backend around {@code engine}. The caller (a backend component, or a program without
     * OSGi) owns the result and stops it; the engine is shut down last (S11).
     *
     * @param id the {@code backend.id}
     * @param device what it runs on
     * @param capabilities what it supports ({@code faultInjection} is taken from the settings)
     * @param engine the device-level native side
     * @param settings batching, timeouts and fault injection
     */
    public static ManagedBackend start(
            String id, DeviceInfo device, Capabilities capabilities, BackendEngine engine, BackendSettings settings) {
        return new CoreBackend(id, device, capabilities, engine, settings);
    }
}
