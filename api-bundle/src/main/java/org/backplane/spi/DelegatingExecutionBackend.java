package org.backplane.spi;

import java.util.List;
import java.util.Optional;
import org.backplane.api.BackendState;
import org.backplane.api.Capabilities;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamId;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamStateListener;
import org.backplane.api.fault.FaultInjector;

/**
 * Base class for a backend's service component: it forwards every {@link ExecutionBackend} call to
 * the {@link BackendCore} the component created on activation. Component instances own their core
 * (and through it all native resources); nothing is static.
 */
public abstract class DelegatingExecutionBackend implements ExecutionBackend, SpiBackend {
    /** The core this component serves; must not be called before activation. */
    protected abstract BackendCore core();

    @Override
    public final BackendCore backendCore() {
        return core();
    }

    @Override
    public String id() {
        return core().id();
    }

    @Override
    public DeviceInfo device() {
        return core().device();
    }

    @Override
    public Capabilities capabilities() {
        return core().capabilities();
    }

    @Override
    public BackendState state() {
        return core().state();
    }

    @Override
    public ComputeStream openStream(String label) {
        return core().openStream(label);
    }

    @Override
    public List<StreamSnapshot> streams() {
        return core().streams();
    }

    @Override
    public Optional<StreamSnapshot> stream(StreamId id) {
        return core().stream(id);
    }

    @Override
    public StreamSnapshot reset(StreamId id) {
        return core().reset(id);
    }

    @Override
    public int resetAll() {
        return core().resetAll();
    }

    @Override
    public void addStreamStateListener(StreamStateListener listener) {
        core().addStreamStateListener(listener);
    }

    @Override
    public void removeStreamStateListener(StreamStateListener listener) {
        core().removeStreamStateListener(listener);
    }

    @Override
    public Optional<FaultInjector> faultInjector() {
        return core().faultInjector();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + core().id() + ", " + core().state() + "]";
    }
}
