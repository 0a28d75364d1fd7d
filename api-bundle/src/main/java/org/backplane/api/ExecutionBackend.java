package org.backplane.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * An execution backend (CPU reference, Metal, CUDA), registered as an OSGi service with the
 * {@value #BACKEND_ID} property. Hosts open {@link ComputeStream}s on it and run ops there.
 *
 * <p>The backend owns its streams' native resources and threads. Stopping it (stopping its bundle)
 * closes every stream: work in flight completes or fails with {@link ErrorKind#BACKEND_STOPPED},
 * and no callback ever reaches freed native memory (S11).
 */
@ProviderType
public interface ExecutionBackend {
    /** Service property naming the backend: {@code cpu}, {@code metal}, {@code cuda}. */
    String BACKEND_ID = "backend.id";

    /** This backend's {@value #BACKEND_ID}. */
    String id();

    /** The device it runs on. */
    DeviceInfo device();

    /** What it supports. */
    Capabilities capabilities();

    /** Whether it is running, has lost its device, or is stopped. */
    BackendState state();

    /**
     * Opens a stream: a serial queue of work whose failures are isolated from other streams.
     *
     * @param label a name for people (shown in snapshots, logs and thread names); not necessarily unique
     * @throws NullPointerException if label is null
     * @throws BackendStoppedException if the backend is stopped
     * @throws IllegalStateException if the backend already has its maximum of open streams
     */
    ComputeStream openStream(String label);

    /**
     * Opens a stream with options of its own, such as a memory quota (S12).
     *
     * @throws NullPointerException if label or options is null
     * @throws BackendStoppedException if the backend is stopped
     * @throws IllegalStateException if the backend already has its maximum of open streams
     */
    ComputeStream openStream(String label, StreamOptions options);

    /** The memory, streams and threads this backend holds now. */
    BackendUsage usage();

    /** Snapshots of this backend's open streams. */
    List<StreamSnapshot> streams();

    /** Snapshot of one open stream of this backend. */
    Optional<StreamSnapshot> stream(StreamId id);

    /**
     * Resets a stream (S7): waits a bounded time for its in-flight work, discards its native queue
     * state and builds a fresh one, invalidates the arrays of the failed generation, clears the
     * error slot, starts a new generation and notifies listeners. Resetting a healthy stream does
     * nothing. Safe while other threads submit.
     *
     * @return the stream's snapshot after the reset
     * @throws IllegalArgumentException if this backend has no open stream with that id
     * @throws DeviceLostException if the device is lost and the backend cannot rebuild it (S9)
     */
    StreamSnapshot reset(StreamId id);

    /**
     * Resets every failed or poisoned stream of this backend (MLX's {@code clear_streams}).
     *
     * @return how many streams were reset
     * @throws DeviceLostException if the device is lost and the backend cannot rebuild it (S9)
     */
    int resetAll();

    /** Registers a listener for every transition of this backend's streams (S8). */
    void addStreamStateListener(StreamStateListener listener);

    /** Removes a listener registered with {@link #addStreamStateListener}. */
    void removeStreamStateListener(StreamStateListener listener);

    /**
     * An optional facility of this backend, looked up by its type; empty when the backend does not
     * offer it. Facilities live in packages of their own, so that this API does not depend on them:
     * fault injection ({@code FaultInjector.of(backend)} in {@code org.backplane.api.fault}, present
     * only when the backend's configuration enables it) and the facilities a runtime uses to manage
     * backends.
     *
     * @throws NullPointerException if type is null
     */
    <T> Optional<T> feature(Class<T> type);
}
