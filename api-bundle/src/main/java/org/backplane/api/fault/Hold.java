package org.backplane.api.fault;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Keeps a stream's work from starting until released; see {@link FaultInjector#hold}. Releasing
 * twice is harmless.
 */
@ProviderType
public interface Hold extends AutoCloseable {
    /** Lets the held work run. */
    void release();

    /** Whether {@link #release} was called (by the test, or by closing, resetting or stopping). */
    boolean isReleased();

    /** Same as {@link #release}. */
    @Override
    default void close() {
        release();
    }
}
