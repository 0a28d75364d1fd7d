package org.backplane.runtime.internal;

import org.backplane.api.ActiveBackend;
import org.backplane.api.ExecutionBackend;
import org.backplane.spi.backend.DelegatingExecutionBackend;

/**
 * The {@link ActiveBackend} registration for one selected backend. Each selection gets a new
 * instance, so a host's greedy reference sees a new service and rebinds.
 */
final class ActiveBackendService extends DelegatingExecutionBackend implements ActiveBackend {
    private final ExecutionBackend target;

    ActiveBackendService(ExecutionBackend target) {
        this.target = target;
    }

    @Override
    protected ExecutionBackend delegate() {
        return target;
    }

    ExecutionBackend target() {
        return target;
    }
}
