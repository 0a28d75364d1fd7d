/**
 * The Metal backend, for use outside OSGi (tests, tools). Inside OSGi the bundle registers it as an
 * {@link org.backplane.api.ExecutionBackend} with {@code backend.id=metal}, configured under the PID
 * {@code org.backplane.backend.metal}, where Metal loads and a device exists (a Mac; on Linux only
 * against the Metal simulator, for testing); elsewhere it stays inactive and says why.
 */
@Export
@Version("2.0.0")
package org.backplane.metal;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
