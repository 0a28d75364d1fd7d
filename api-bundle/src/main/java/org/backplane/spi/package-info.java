/**
 * The service provider interface for backend implementers: one implementation of the stream error
 * contract (S1–S8, S11) that every backend shares.
 *
 * <p>A backend supplies a {@link org.backplane.spi.BackendEngine} (device-level resources) and, per
 * stream, a {@link org.backplane.spi.StreamEngine} (a native queue or worker). The SPI does the
 * rest: argument validation and shape inference ({@link org.backplane.spi.Shapes}), the per-stream
 * error slot and state machine ({@link org.backplane.spi.StreamCore}), command batching with
 * back-pressure, failure propagation into arrays, reset, close, listener notification, fault
 * injection, and the backend's lifecycle ({@link org.backplane.spi.BackendCore}).
 *
 * <p>Engines report what happened to a committed {@link org.backplane.spi.CommandBatch} with
 * {@link org.backplane.spi.StreamCore#batchCompleted} or
 * {@link org.backplane.spi.StreamCore#batchFailed}. Both may be called from any thread, never
 * throw and never block (S1), so they are safe inside FFM upcalls from driver threads.
 */
@Export
@Version("1.1.0")
package org.backplane.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
