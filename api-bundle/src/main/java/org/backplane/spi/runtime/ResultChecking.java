package org.backplane.spi.runtime;

import java.util.Optional;
import org.backplane.spi.ResultChecker;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A backend's result-checking facility, reached with {@code backend.feature(ResultChecking.class)}:
 * installs the checker that recomputes sampled ops before their results are released (see
 * {@link ResultChecker}). The runtime installs the CPU reference's checker on every backend when
 * result checking is configured.
 */
@ProviderType
public interface ResultChecking {
    /** Installs {@code checker} (null removes checking); it applies to ops submitted from now on. */
    void install(ResultChecker checker);

    /** The checker in force, if any. */
    Optional<ResultChecker> installed();
}
