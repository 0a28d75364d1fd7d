/**
 * Backplane's public API: execution backends, streams, device arrays and their ops, the errors a
 * stream reports, stream state, and the poison-state service.
 *
 * <h2>The stream error contract</h2>
 * A GPU reports failures on a thread the program does not own. Backplane captures such a failure
 * into the failing stream's error slot and never lets it escape there. The stream is then
 * <em>poisoned</em>: the first call a user thread makes on it (submitting an op, {@code eval},
 * {@code synchronize}, reading an array) throws {@link org.backplane.api.StreamFailedException}
 * with the original {@link org.backplane.api.StreamError}; every later call throws
 * {@link org.backplane.api.StreamPoisonedException} until the stream is reset. No other stream
 * notices. Arrays produced by failed work can never be read as data. Bad input (null, a shape
 * mismatch, a closed stream) fails at once on the caller's thread and poisons nothing.
 */
@Export
@Version("2.2.0")
package org.backplane.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
