/**
 * The CUDA backend, for use outside OSGi (tests, benchmarks, tools). Inside OSGi the bundle registers
 * it as an {@link org.backplane.api.ExecutionBackend} with {@code backend.id=cuda}, configured under
 * the PID {@code org.backplane.backend.cuda}, on machines where the NVIDIA driver loads and a device
 * exists; elsewhere it stays inactive and says why.
 */
@Export
@Version("2.1.0")
package org.backplane.cuda;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
