package org.backplane.api;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Where the worker process of a process-isolated backend stands, from
 * {@link WorkerProcess#status()}.
 *
 * @param state what the worker is doing now
 * @param pid the running worker's process id, or 0 when none runs
 * @param starts how many workers were started, the first one included
 * @param crashes how many workers were lost (exited, killed, hung, or retired after a device loss)
 * @param lastCrash why the last worker was lost, with the end of its log; empty if none was
 * @param lastCrashTime when, or null
 * @param restartLimit at most this many losses within {@code restartWindow} are restarted
 * @param restartWindow the window of the restart limit
 */
public record WorkerStatus(
        State state,
        long pid,
        int starts,
        int crashes,
        String lastCrash,
        Instant lastCrashTime,
        int restartLimit,
        Duration restartWindow) {

    /** What a worker process is doing. */
    public enum State {
        /** Running and answering. */
        RUNNING,
        /** Lost; the next reset (or a new stream) starts a fresh one. */
        LOST,
        /** Lost more often than the restart limit allows: the backend stays down until reconfigured. */
        DOWN,
        /** The backend was stopped. */
        STOPPED
    }

    public WorkerStatus {
        Objects.requireNonNull(state, "state");
        lastCrash = lastCrash == null ? "" : lastCrash;
        Objects.requireNonNull(restartWindow, "restartWindow");
    }

    /** One line: {@code "RUNNING, pid 4242, 3 starts, 2 crashes (last: ...)"}. */
    public String describe() {
        return state + (pid > 0 ? ", pid " + pid : "") + ", " + starts + (starts == 1 ? " start" : " starts") + ", "
                + crashes + (crashes == 1 ? " crash" : " crashes") + " (restart limit " + restartLimit + " in "
                + restartWindow.toMinutes() + " min)" + (lastCrash.isEmpty() ? "" : "; last: " + lastCrash);
    }
}
