package org.backplane.cpu.internal;

/**
 * Input that only the data shows to be invalid (a {@code take} index out of range): the stream
 * fails with {@code INVALID_ARGUMENT}, as a device's bounds check would make it.
 */
final class BadOpInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadOpInputException(String message) {
        super(message);
    }
}
