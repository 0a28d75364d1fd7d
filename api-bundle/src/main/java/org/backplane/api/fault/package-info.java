/**
 * Fault injection: make a backend fail chosen work with a chosen kind of error, so that every rule
 * of the stream error contract can be exercised on every backend. Off unless a backend's
 * configuration enables it.
 */
@Export
@Version("1.2.0")
package org.backplane.api.fault;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
