package org.backplane.itests.host;

import java.util.List;
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
    void startWork();

    /** Stops the work thread and returns what happened to every op it submitted. */
    WorkReport stopWork() throws InterruptedException;

    /**
     * @param submitted ops submitted
     * @param completed ops whose results came back correct
     * @param failedClearly ops that failed with a Backplane exception naming what happened
     * @param wrong ops whose results came back wrong
     * @param unexplained other failures (anything not a Backplane exception), as text
     * @param backendsUsed the backend ids the work ran on, in order of first use
     */
    record WorkReport(long submitted, long completed, long failedClearly, long wrong, List<String> unexplained,
            List<String> backendsUsed) {
    }
}
