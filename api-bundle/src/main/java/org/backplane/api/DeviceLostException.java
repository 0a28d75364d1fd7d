package org.backplane.api;

/**
 * Thrown by a reset when the backend's device is lost (S9) and this process cannot recover it:
 * the message says what recovery needs (for CUDA sticky errors: restarting the process, or running
 * the backend in a supervised worker process).
 */
public final class DeviceLostException extends BackplaneException {
    private static final long serialVersionUID = 1L;

    private final String backendId;
    private final transient StreamError error;

    public DeviceLostException(String backendId, StreamError error, String advice) {
        super(
                "The " + backendId + " device is lost" + (error == null ? "" : " (" + error.describe() + ")")
                        + " and cannot be recovered in this process. " + advice,
                error == null ? null : error.hostException());
        this.backendId = backendId;
        this.error = error;
    }

    public String backendId() {
        return backendId;
    }

    /** The error that lost the device, or null. */
    public StreamError error() {
        return error;
    }
}
