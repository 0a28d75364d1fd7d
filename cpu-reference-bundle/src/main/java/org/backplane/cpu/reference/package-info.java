/**
 * The reference path: plain, obviously correct kernels for every op, accumulating in float64 and
 * rounding once to float32. They are the oracle other backends and the fast CPU kernels are checked
 * against, so they share no code with what they check. Slow by design.
 */
@Export
@Version("2.0.0")
package org.backplane.cpu.reference;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
