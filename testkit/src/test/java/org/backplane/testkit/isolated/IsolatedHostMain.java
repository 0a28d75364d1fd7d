package org.backplane.testkit.isolated;

import org.backplane.api.WorkerProcess;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;

/** A host JVM for {@link WorkerProcessTest}: starts an isolated CPU backend, prints its worker's pid, waits. */
public final class IsolatedHostMain {
    private IsolatedHostMain() {}

    public static void main(String[] args) throws InterruptedException {
        CpuBackend backend = CpuBackend.start(CpuSettings.defaults(), IsolatedCpuFixture.isolation());
        System.out.println("worker "
                + backend.feature(WorkerProcess.class).orElseThrow().status().pid());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
