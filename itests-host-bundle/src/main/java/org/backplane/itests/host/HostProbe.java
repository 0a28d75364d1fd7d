package org.backplane.itests.host;

import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/** The test host's view of its active backend and of the work it submitted. */
@ProviderType
public interface HostProbe {
    /** Bind and unbind calls of the host's ActiveBackend reference, in order ({@code "bind cpu"}, {@code "unbind cpu"}). */
    List<String> bindings();

    /** The backend id the host holds now, or null. */
    String currentBackend();

    /** How many times the host component was activated (1 if it never restarted). */
    int activations();

    /** Starts a thread that keeps submitting small ops on whatever backend the host holds. */
    default void startWork() {
        startWork(1);
    }

    /** Starts {@code threads} threads, each with its own stream, that keep submitting small ops. */
    void startWork(int threads);

    /**
     * Stops the work threads and returns what happened to every op they submitted. A thread that
     * does not finish within ten seconds is counted as hung (and left running).
     */
    WorkReport stopWork() throws InterruptedException;

    /**
     * What the host's work threads saw so far.
     *
     * @param submitted ops submitted
     * @param completed ops whose results came back correct
     * @param failedClearly ops that failed with a Backplane exception naming what happened
     * @param wrong ops whose results came back wrong
     * @param unexplained other failures (anything not a Backplane exception), as text
     * @param backendsUsed the backend ids the work ran on, in order of first use
     * @param failuresByKind the clear failures by error kind ({@code BACKEND_STOPPED}, ...), or
     *        {@code STREAM_CLOSED} where the exception named no kind
     * @param otherFailureExamples a few clear failures of another kind than BACKEND_STOPPED, as text
     * @param hungThreads work threads that did not stop within the bound
     */
    record WorkReport(
            long submitted,
            long completed,
            long failedClearly,
            long wrong,
            List<String> unexplained,
            List<String> backendsUsed,
            Map<String, Long> failuresByKind,
            List<String> otherFailureExamples,
            int hungThreads) {}
}
