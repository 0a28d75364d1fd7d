package org.backplane.metal.internal;

import org.backplane.api.ErrorKind;

/** What a failed command buffer's {@code NSError} means for the stream error contract (S10). */
final class MetalError {
    static final String COMMAND_BUFFER_DOMAIN = "MTLCommandBufferErrorDomain";
    /** {@code MTLCommandBufferStatus}. */
    static final long STATUS_COMPLETED = 4;

    static final long STATUS_ERROR = 5;

    private MetalError() {}

    /**
     * The kind of a command buffer's error: work discarded during another command buffer's recovery
     * (IOGPU's "InnocentVictim", whatever its code) is an innocent victim; otherwise by
     * {@code MTLCommandBufferError} code.
     */
    static ErrorKind kind(long code, String description) {
        if (description.contains("InnocentVictim") || description.contains("victim of GPU")) {
            return ErrorKind.INNOCENT_VICTIM;
        }
        return switch ((int) code) {
            case 2 -> ErrorKind.TIMEOUT;
            case 3 -> ErrorKind.PAGE_FAULT;
            case 8 -> ErrorKind.OUT_OF_MEMORY;
            case 9 -> ErrorKind.INVALID_ARGUMENT; // invalid resource: a buffer the GPU could not use
            case 4, 11 -> ErrorKind.DEVICE_LOST; // access revoked (too many hangs), device removed
            default -> ErrorKind.INTERNAL; // 1 internal, 7 not permitted, 12 stack overflow, ...
        };
    }

    /** {@code MTLCommandBufferError} names, for messages. */
    static String name(long code) {
        return switch ((int) code) {
            case 1 -> "MTLCommandBufferErrorInternal";
            case 2 -> "MTLCommandBufferErrorTimeout";
            case 3 -> "MTLCommandBufferErrorPageFault";
            case 4 -> "MTLCommandBufferErrorAccessRevoked";
            case 7 -> "MTLCommandBufferErrorNotPermitted";
            case 8 -> "MTLCommandBufferErrorOutOfMemory";
            case 9 -> "MTLCommandBufferErrorInvalidResource";
            case 10 -> "MTLCommandBufferErrorMemoryless";
            case 11 -> "MTLCommandBufferErrorDeviceRemoved";
            case 12 -> "MTLCommandBufferErrorStackOverflow";
            default -> "MTLCommandBufferError " + code;
        };
    }
}
