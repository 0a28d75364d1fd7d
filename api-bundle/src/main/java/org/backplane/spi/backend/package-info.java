/**
 * Hosting an engine as a backend: {@link org.backplane.spi.backend.Backends#start} wraps a
 * {@link org.backplane.spi.BackendEngine} in the SPI's implementation of the stream error contract,
 * and {@link org.backplane.spi.backend.DelegatingExecutionBackend} is the base of the component
 * that registers it as an OSGi service.
 */
@Export
@Version("1.0.0")
package org.backplane.spi.backend;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
