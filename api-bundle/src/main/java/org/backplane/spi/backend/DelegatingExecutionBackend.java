package org.backplane.spi.backend;

import java.util.List;
import java.util.Optional;
import org.backplane.api.BackendState;
import org.backplane.api.BackendUsage;
import org.backplane.api.Capabilities;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamId;
import org.backplane.api.StreamOptions;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamStateListener;
import org.backplane.api.fault.FaultInjector;

/**
 * Forwards every {@link ExecutionBackend} call to another backend: the base of a backend's service
 * component (which forwards to the backend it started on activation; component instances own their
 * backend, and through it all native resources, never statics) and of service facades such as the
 * runtime's active-backend registration.
 */
public abstract class DelegatingExecutionBackend implements ExecutionBackend {
    /** The backend calls go to; must not be called before the component is activated. */
    protected abstract ExecutionBackend delegate();

    @Override
    public String id() {
        return delegate().id();
    }

    @Override
    public DeviceInfo device() {
        return delegate().device();
    }

    @Override
    public Capabilities capabilities() {
        return delegate().capabilities();
    }

    @Override
    public BackendState state() {
        return delegate().state();
    }

    @Override
    public ComputeStream openStream(String label) {
        return delegate().openStream(label);
    }

    @Override
    public ComputeStream openStream(String label, StreamOptions options) {
        return delegate().openStream(label, options);
    }

    @Override
    public BackendUsage usage() {
        return delegate().usage();
    }

    @Override
    public List<StreamSnapshot> streams() {
        return delegate().streams();
    }

    @Override
    public Optional<StreamSnapshot> stream(StreamId id) {
        return delegate().stream(id);
    }

    @Override
    public StreamSnapshot reset(StreamId id) {
        return delegate().reset(id);
    }

    @Override
    public int resetAll() {
        return delegate().resetAll();
    }

    @Override
    public void addStreamStateListener(StreamStateListener listener) {
        delegate().addStreamStateListener(listener);
    }

    @Override
    public void removeStreamStateListener(StreamStateListener listener) {
        delegate().removeStreamStateListener(listener);
    }

    @Override
    public <T> Optional<T> feature(Class<T> type) {
        return delegate().feature(type);
    }

    /** This backend's fault injector; see {@link FaultInjector#of}. */
    public Optional<FaultInjector> faultInjector() {
        return FaultInjector.of(this);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + delegate().id() + ", "
                + delegate().state() + "]";
    }
}
