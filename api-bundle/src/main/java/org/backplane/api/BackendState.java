package org.backplane.api;

/** The state of an execution backend as a whole. */
public enum BackendState {
    /** Accepting work. */
    RUNNING,
    /**
     * The device context is lost (S9): every stream was poisoned. Resetting a stream either
     * rebuilds the context, where the backend can, or explains what recovery needs.
     */
    DEVICE_LOST,
    /** Stopped: all its streams are closed. */
    STOPPED
}
