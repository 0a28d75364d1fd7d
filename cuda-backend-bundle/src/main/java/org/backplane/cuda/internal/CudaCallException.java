package org.backplane.cuda.internal;

/** A CUDA driver call returned an error, on the calling thread. */
final class CudaCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int code;
    final String text;

    CudaCallException(int code, String what, String text) {
        super(what + " failed: " + text);
        this.code = code;
        this.text = text;
    }
}
