package org.backplane.spi;

import java.time.Duration;
import org.backplane.api.ExecutionBackend;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A running backend built on the SPI, as the component that started it holds it: the
 * {@link ExecutionBackend} it serves, and the means to stop it safely (S11).
 */
@ProviderType
public interface ManagedBackend extends ExecutionBackend, AutoCloseable {
    /** The settings it runs with. */
    BackendSettings settings();

    /** Stops with the configured grace period; see {@link #stop(Duration)}. */
    void stop();

    /**
     * Stops the backend safely (S11): refuses new work, stops running work within {@code grace} and
     * fails the rest with {@code BACKEND_STOPPED} (waiters are released), closes every stream and
     * joins its threads, then lets the engine release device resources, and finally stops listener
     * delivery. Idempotent.
     */
    void stop(Duration grace);

    /** Same as {@link #stop()}. */
    @Override
    default void close() {
        stop();
    }
}
