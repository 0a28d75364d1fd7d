package org.backplane.onnx;

/**
 * A model Backplane cannot run, found when it is loaded: an op it does not implement, an attribute
 * or input form it does not support, a malformed file. The message names the node and the op.
 */
public final class UnsupportedModelException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public UnsupportedModelException(String message) {
        super(message);
    }

    public UnsupportedModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
