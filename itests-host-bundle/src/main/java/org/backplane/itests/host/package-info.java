/** What the integration tests can ask the test host bundle. */
@Export
@Version("1.1.0")
package org.backplane.itests.host;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
