package org.backplane.api;

/** Thrown when a stopped backend is asked to open a stream or reset one. */
public final class BackendStoppedException extends BackplaneException {
    private static final long serialVersionUID = 1L;

    public BackendStoppedException(String backendId) {
        super("Backend '" + backendId + "' is stopped; its streams are closed. Use another backend instance.");
    }
}
