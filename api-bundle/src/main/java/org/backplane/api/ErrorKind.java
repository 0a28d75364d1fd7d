package org.backplane.api;

/** What kind of failure a {@link StreamError} records (contract rule S10). */
public enum ErrorKind {
    /** The device or host ran out of memory while work executed. */
    OUT_OF_MEMORY,
    /** Work took too long and was stopped by the device or driver (Metal error 2). */
    TIMEOUT,
    /** Work touched memory it must not (Metal page fault 3, CUDA illegal address 700). */
    PAGE_FAULT,
    /** A kernel failed to compile at run time. */
    KERNEL_COMPILE,
    /** The device rejected an argument or resource only when the work executed. */
    INVALID_ARGUMENT,
    /** The device context is gone: every stream on it is poisoned (S9). */
    DEVICE_LOST,
    /** This work was discarded because other work failed (Metal "InnocentVictim"). */
    INNOCENT_VICTIM,
    /** The work consumed an array whose producing work failed on another stream. */
    UPSTREAM_FAILURE,
    /**
     * Result checking found a result that differs from the CPU reference (silent corruption,
     * treated as a fault). As an injected fault: the op returns a wrong result and reports success.
     */
    VERIFICATION_MISMATCH,
    /** A Java exception escaped host-side code that ran the work (for example a kernel bug). */
    HOST_EXCEPTION,
    /** The backend was stopped while this work was queued or running. */
    BACKEND_STOPPED,
    /** A failure the backend could not classify. */
    INTERNAL;

    /** Whether this kind destroys the device context for every stream (S9). */
    public boolean isDeviceFatal() {
        return this == DEVICE_LOST;
    }
}
