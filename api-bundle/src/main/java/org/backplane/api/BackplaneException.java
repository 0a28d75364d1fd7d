package org.backplane.api;

/** The base of the exceptions Backplane throws for conditions other than bad arguments. */
public class BackplaneException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BackplaneException(String message) {
        super(message);
    }

    public BackplaneException(String message, Throwable cause) {
        super(message, cause);
    }
}
