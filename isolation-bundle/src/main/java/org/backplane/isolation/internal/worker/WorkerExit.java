package org.backplane.isolation.internal.worker;

import java.time.Instant;

/**
 * The one way a worker ends itself: it writes why to its log (which the host reads when it reports
 * the worker's end), then halts. Halting, not exiting: no shutdown hook or finalizer of the engine
 * may run into native code of a device that may be broken.
 */
final class WorkerExit {
    private WorkerExit() {}

    static void halt(int status, String reason) {
        try {
            System.err.println("worker " + ProcessHandle.current().pid() + " ends (status " + status + ") at "
                    + Instant.now() + ": " + reason);
            System.err.flush();
        } catch (Throwable t) {
            // a log that cannot be written must not keep the worker alive
        }
        Runtime.getRuntime().halt(status);
    }
}
