package org.backplane.isolation.internal.host;

/** The worker process ended while a call waited for it (or before it was made). */
final class WorkerGone extends RuntimeException {
    private static final long serialVersionUID = 1L;

    WorkerGone(String reason) {
        super(reason, null, false, false);
    }
}
