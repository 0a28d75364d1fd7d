/**
 * The service provider interface for backend implementers: the narrow seam between the stream error
 * contract, which Backplane implements once, and a backend's native engine.
 *
 * <p>A backend supplies a {@link org.backplane.spi.BackendEngine} (device-level resources) and, per
 * stream, a {@link org.backplane.spi.StreamEngine} (a native queue or worker). The SPI calls the
 * engine to encode, commit, copy and rebuild; the engine reports what happened through the
 * {@link org.backplane.spi.StreamSink} it was given, and through nothing else. The sink never
 * throws and never blocks (S1), so it is safe inside FFM upcalls from driver threads; it decides
 * every rule of the contract (S1–S9) from what the engine reports, including whether an error loses
 * the device ({@link org.backplane.spi.ErrorScope}).
 *
 * <p>Engines see work as {@link org.backplane.spi.CommandBatch}es of
 * {@link org.backplane.spi.Command}s over {@link org.backplane.spi.EngineArray}s, never the
 * {@code ComputeStream} or {@code DeviceArray} objects hosts hold. {@code org.backplane.spi.backend}
 * turns an engine into a running backend; {@code org.backplane.spi.device} has the plumbing device
 * engines share.
 */
@Export
@Version("2.1.0")
package org.backplane.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
