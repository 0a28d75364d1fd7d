package org.backplane.spi;

import java.time.Duration;
import java.util.Optional;
import org.backplane.api.StreamError;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A backend's device-level side: it owns the device context, pools, arenas and upcall stubs, and
 * opens a {@link StreamEngine} per stream. Owned by a component instance, never by statics.
 */
@ConsumerType
public interface BackendEngine {
    /**
     * Creates the native side of a new stream, which reports through {@code sink} (and only there).
     *
     * @throws EngineFailure if the device refuses (the stream is then not opened)
     */
    StreamEngine openStream(StreamSink sink);

    /** Whether a lost device (S9) can be rebuilt in this process. */
    default boolean canRebuildDevice() {
        return false;
    }

    /** Rebuilds a lost device context; called once, before the first reset after the loss. */
    default void rebuildDevice() {
        throw new UnsupportedOperationException("this backend cannot rebuild its device");
    }

    /** What a user must do to recover from device loss when it cannot be rebuilt here. */
    default String deviceLossAdvice() {
        return "Restart the process to use this device again, or run the backend in a supervised worker process.";
    }

    /**
     * The SPI decided that the device is lost (S9; every stream is poisoned by then). An engine that
     * can act on it does so here, promptly and without throwing: a process-isolated engine retires
     * its worker. Called once per loss, from any thread.
     */
    default void deviceLost(StreamError cause) {}

    /** A facility this engine offers beyond the SPI (served by {@code ExecutionBackend.feature}). */
    default <T> Optional<T> feature(Class<T> type) {
        return Optional.empty();
    }

    /** Threads this engine runs now (stream workers, compute pools; not a driver's own threads). */
    default int threads() {
        return 0;
    }

    /** Device memory the engine keeps in a pool for reuse beyond what live arrays hold, in bytes. */
    default long pooledBytes() {
        return 0;
    }

    /**
     * Releases device-level resources after every stream was closed: join threads, then close arenas
     * and upcall stubs, in that order (S11).
     */
    void shutdown(Duration timeout);
}
