package org.backplane.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Implemented by every {@code ExecutionBackend} built on this SPI, so that the runtime can reach
 * the SPI core behind a backend service (to install result checking, for instance).
 */
@ProviderType
public interface SpiBackend {
    BackendCore backendCore();
}
