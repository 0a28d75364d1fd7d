/**
 * What a Backplane runtime needs to manage backends built on the SPI, and nobody else: aggregating
 * every backend's streams into a poison-state service, delivering transitions to whiteboard
 * listeners, and installing result checking.
 *
 * <p>Exported with the mandatory attribute {@code backplane.role=runtime}: a bundle wires to it only
 * when its import names that attribute (the runtime bundle's does), so hosts and backends never
 * depend on it by accident.
 */
@Version("1.0.0")
package org.backplane.spi.runtime;

import org.osgi.annotation.versioning.Version;
