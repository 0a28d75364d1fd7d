package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamFailedException;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * A host switches its CPU backend into a supervised worker process through Config Admin and back,
 * without restarting: the worker is started from the host's own JVM with the bundles' classes, a
 * killed worker is DEVICE_LOST that a reset recovers from, and switching back stops the worker.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class IsolationSwitchIT extends ItestSupport {

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @After
    public void inTheHostAgain() throws Exception {
        configure(CPU_PID, Map.of("isolation", "none"));
        cpuBackend(b -> b.feature(WorkerProcess.class).isEmpty());
    }

    @Test
    public void configAdminMovesTheBackendIntoAWorkerProcessAndBack() throws Exception {
        configure(CPU_PID, Map.of("isolation", "process", "isolation.heartbeat.ms", 200L));
        ExecutionBackend isolated =
                cpuBackend(b -> b.feature(WorkerProcess.class).isPresent());
        WorkerProcess worker = isolated.feature(WorkerProcess.class).orElseThrow();
        long pid = worker.status().pid();
        assertThat(pid).isPositive().isNotEqualTo(ProcessHandle.current().pid());
        assertThat(isolated.device().details()).containsKey("isolation");

        ActiveBackend active = await(ActiveBackend.class, "(backend.id=cpu)");
        eventually(
                "the active backend is the isolated one",
                20,
                () -> active.feature(WorkerProcess.class).isPresent());
        try (ComputeStream s = active.openStream("isolated-it")) {
            assertThat(s.add(s.upload(new float[] {1, 2, 3}, 3), 1.0).download())
                    .containsExactly(2f, 3f, 4f);
        }
        assertThat(gogo("backplane:backend")).contains("worker     cpu: RUNNING, pid " + pid);

        // The worker dies: its streams report DEVICE_LOST, the host lives, a reset brings a fresh worker.
        try (ComputeStream s = isolated.openStream("killed")) {
            assertThat(s.upload(new float[] {1}, 1).download()).containsExactly(1f);
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            eventually("the backend noticed", 20, () -> isolated.state() == BackendState.DEVICE_LOST);
            assertThatThrownBy(s::synchronize)
                    .isInstanceOfSatisfying(
                            StreamFailedException.class,
                            e -> assertThat(e.error().kind()).isEqualTo(ErrorKind.DEVICE_LOST));
            isolated.reset(s.id());
            assertThat(worker.status().pid()).isNotEqualTo(pid).isPositive();
            assertThat(s.neg(s.upload(new float[] {5}, 1)).download()).containsExactly(-5f);
        }
        long second = worker.status().pid();

        configure(CPU_PID, Map.of("isolation", "none"));
        ExecutionBackend inHost = cpuBackend(b -> b.feature(WorkerProcess.class).isEmpty());
        try (ComputeStream s = inHost.openStream("in-host")) {
            assertThat(s.mul(s.upload(new float[] {2}, 1), 3.0).download()).containsExactly(6f);
        }
        eventually(
                "the worker stopped with its backend",
                20,
                () -> !ProcessHandle.of(second).map(ProcessHandle::isAlive).orElse(false));
        assertThat(worker.status().state()).isEqualTo(WorkerStatus.State.STOPPED);
    }
}
