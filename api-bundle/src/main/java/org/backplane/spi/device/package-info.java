/**
 * Plumbing that device engines (CUDA, Metal, and any engine driven by native callbacks) share,
 * written once: the registry behind a single completion upcall stub, the reaper that frees native
 * memory of arrays nobody holds, and the geometry ops are lowered with.
 */
@Export
@Version("1.0.0")
package org.backplane.spi.device;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
