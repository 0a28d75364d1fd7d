package org.backplane.runtime.internal;

import java.util.List;
import java.util.Map;
import org.backplane.api.BackendState;

/** What the backend selection decided and why; a service private to the runtime bundle. */
public interface BackendSelection {
    /** The configuration PID that selects the backend. */
    String PID = "org.backplane.backend";

    Status status();

    /**
     * The selection's state.
     *
     * @param preference the configured ids, most wanted first
     * @param active the id of the backend registered as {@code ActiveBackend}, or null
     * @param note why the active backend is not the first preference, or why a change was refused;
     *     empty when the first preference is active
     * @param registered the backends registered now, with their states
     * @param unavailable backends whose bundles are installed but cannot run on this machine, with why
     * @param workers the worker process of each isolated backend, described
     */
    record Status(
            List<String> preference,
            String active,
            String note,
            Map<String, BackendState> registered,
            Map<String, String> unavailable,
            Map<String, String> workers) {}
}
