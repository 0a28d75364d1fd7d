package org.backplane.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A backend whose device work runs in a supervised worker process ({@code isolation=process}), as
 * {@link ExecutionBackend#feature(Class) backend.feature(WorkerProcess.class)} gives it. A sticky
 * device fault, a crash or a hang of the worker is {@code DEVICE_LOST} for every stream of the
 * backend; a reset starts a fresh worker, up to the restart limit.
 */
@ProviderType
public interface WorkerProcess {
    /** The worker now and its history. */
    WorkerStatus status();

    /**
     * Calls {@code changed} (on a thread of the backend's, promptly, never blocking it for long)
     * whenever the status changes: a worker started, was lost, or the backend went down.
     */
    void addListener(Runnable changed);

    void removeListener(Runnable changed);
}
