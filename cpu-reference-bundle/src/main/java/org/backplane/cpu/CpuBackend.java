package org.backplane.cpu;

import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.internal.CpuBackends;
import org.backplane.cpu.internal.IsolatedCpuBackends;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.DelegatingExecutionBackend;

/**
 * A running CPU backend instance. It owns its worker threads and compute pool; {@link #close()}
 * stops it safely (S11). Inside OSGi, use the {@code ExecutionBackend} service instead.
 */
public final class CpuBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id} of the default CPU backend. */
    public static final String ID = CpuBackends.ID;

    private final ManagedBackend backend;

    private CpuBackend(ManagedBackend backend) {
        this.backend = backend;
    }

    /** Starts a CPU backend with the given settings. */
    public static CpuBackend start(CpuSettings settings) {
        return new CpuBackend(
                CpuBackends.start(settings.id(), settings.parallelism(), settings.kernels(), settings.common()));
    }

    /**
     * Starts a CPU backend with the given settings, in this process or, with
     * {@code isolation.process()}, in a supervised worker process (see {@link IsolationSettings}).
     */
    public static CpuBackend start(CpuSettings settings, IsolationSettings isolation) {
        return new CpuBackend(IsolatedCpuBackends.start(
                settings.id(), settings.parallelism(), settings.kernels(), settings.common(), isolation));
    }

    /** Starts a CPU backend with {@link CpuSettings#defaults()}. */
    public static CpuBackend start() {
        return start(CpuSettings.defaults());
    }

    @Override
    protected ExecutionBackend delegate() {
        return backend;
    }

    /** Stops the backend safely (S11): see {@link ManagedBackend#stop()}. */
    @Override
    public void close() {
        backend.stop();
    }
}
