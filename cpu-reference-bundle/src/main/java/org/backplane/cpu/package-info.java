/**
 * The CPU reference backend, for use outside OSGi (tests, benchmarks, command-line tools). Inside
 * OSGi the bundle registers it as an {@link org.backplane.api.ExecutionBackend} service with
 * {@code backend.id=cpu}, configured under the PID {@code org.backplane.backend.cpu}.
 */
@Export
@Version("2.1.0")
package org.backplane.cpu;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
