/**
 * Process isolation for any backend: {@link org.backplane.isolation.IsolatedBackends#start} runs a
 * backend's engine in a supervised worker JVM and serves it as an ordinary backend with the same id
 * and API. A backend offers itself for isolation with a {@link org.backplane.isolation.WorkerBackend}.
 */
@Export
@Version("1.1.0")
package org.backplane.isolation;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
