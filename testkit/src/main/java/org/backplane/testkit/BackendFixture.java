package org.backplane.testkit;

import java.util.List;
import org.backplane.api.ExecutionBackend;
import org.backplane.spi.BackendSettings;

/**
 * How the contract test kit starts and stops one backend. Each backend's test module implements
 * this once and subclasses the kit's test classes with it.
 */
public interface BackendFixture {
    /** For test names and messages: {@code "cpu"}, {@code "metal (simulator)"}. */
    String name();

    /** Starts a fresh backend instance with these settings. */
    ExecutionBackend start(BackendSettings settings);

    /** Stops an instance started by {@link #start} (S11); must be safe to call twice. */
    void stop(ExecutionBackend backend);

    /** Name prefixes of the platform threads a backend instance owns, to prove none survive a stop. */
    List<String> threadNamePrefixes();

    /**
     * Elements of a float32 array that the backend can allocate on its own but of which three cannot
     * all be held at once, so that computing them makes the backend really run out of memory while
     * queued work executes. Zero if the backend cannot be driven out of memory safely.
     */
    long outOfMemoryElements();

    /** Whether resetting after a device loss recovers in this process (S9); otherwise reset must explain. */
    boolean recoversFromDeviceLoss();
}
