package org.backplane.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Registered by a backend bundle whether or not its backend can run here, so that hosts and the
 * console can say why a backend is missing ("libcuda.so.1 could not be loaded: no NVIDIA driver on
 * this machine") instead of only that it is.
 */
@ConsumerType
public interface BackendAvailability {
    /** The {@value ExecutionBackend#BACKEND_ID} of the backend this is about. */
    String backendId();

    /** Whether the backend's native library loads and a device exists. */
    boolean available();

    /** Why it is unavailable, or what it found when it is available. */
    String reason();

    /** What a backend bundle's probe found, fixed at the time it looked. */
    static BackendAvailability of(String backendId, boolean available, String reason) {
        return new BackendAvailability() {
            @Override
            public String backendId() {
                return backendId;
            }

            @Override
            public boolean available() {
                return available;
            }

            @Override
            public String reason() {
                return reason;
            }
        };
    }
}
