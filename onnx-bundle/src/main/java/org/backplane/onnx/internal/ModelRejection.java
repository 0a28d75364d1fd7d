package org.backplane.onnx.internal;

/**
 * A model this package cannot run (an op, attribute or input form it does not support, a malformed
 * file). The exported {@code OnnxModel} turns it into {@code ModelRejection}, so this
 * package never depends on the one that exports it.
 */
public final class ModelRejection extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    ModelRejection(String message) {
        super(message);
    }

    ModelRejection(String message, Throwable cause) {
        super(message, cause);
    }
}
