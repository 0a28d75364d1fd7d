package org.backplane.testkit.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamState;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.spi.BackendSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The three ways a worker is lost — killed (SIGKILL) mid-work, hung (SIGSTOP: it stops answering),
 * a sticky device error it reports — each 20 times in one host JVM: every stream gets
 * {@code DEVICE_LOST}, nothing hangs, the host lives, a reset brings every stream back on a fresh
 * worker with results equal to the in-host CPU's, and the host's threads and open files stay flat.
 */
class WorkerFaultsTest {
    private static final int ROUNDS = 20;
    private static final int STREAMS = 3;
    private static final int N = 64;

    enum Fault {
        KILL,
        HANG,
        STICKY
    }

    private CpuBackend isolated;
    private CpuBackend reference;

    @BeforeEach
    void start() {
        isolated = CpuBackend.start(
                CpuSettings.defaults().withCommon(BackendSettings.DEFAULT.withFaultInjection(List.of())),
                IsolatedCpuFixture.isolation()
                        .withHeartbeat(Duration.ofMillis(200), Duration.ofMillis(2_000))
                        .withRestartLimit(10 * ROUNDS, Duration.ofMinutes(10))
                        .withRestartBackoff(Duration.ZERO));
        reference = CpuBackend.start();
    }

    @AfterEach
    void stop() {
        if (isolated != null) {
            // Bounded: a worker that hangs unnoticed (a broken heartbeat) would hold the close forever.
            assertTimeoutPreemptively(Duration.ofSeconds(60), isolated::close, "the isolated backend's stop");
        }
        if (reference != null) {
            reference.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Fault.class)
    void everyLostWorkerIsDeviceLossAndResetRecoversOnAFreshOne(Fault fault) throws Exception {
        WorkerProcess worker = isolated.feature(WorkerProcess.class).orElseThrow();
        float[] expected = expected();
        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(isolated.openStream("faults-" + i));
        }
        int threadsAtStart = -1;
        long filesAtStart = -1;
        for (int round = 1; round <= ROUNDS; round++) {
            int r = round;
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> round(fault, r, worker, streams, expected));
            if (round == 2) { // after the first replacement: every lazily made thing exists
                threadsAtStart = backplaneThreads();
                filesAtStart = openFiles();
            }
        }
        assertThat(backplaneThreadsSettledAt(threadsAtStart))
                .as("host threads after %d lost workers", ROUNDS)
                .isEqualTo(threadsAtStart);
        assertThat(openFiles())
                .as("host open files after %d lost workers", ROUNDS)
                .isLessThanOrEqualTo(filesAtStart + 2);
        assertThat(worker.status().crashes()).isEqualTo(ROUNDS);
        assertThat(worker.status().starts()).isEqualTo(ROUNDS + 1);
    }

    private void round(Fault fault, int round, WorkerProcess worker, List<ComputeStream> streams, float[] expected)
            throws Exception {
        // Healthy results first: work completed before the fault stays intact (the bystanders').
        List<float[]> before = new ArrayList<>();
        for (ComputeStream s : streams) {
            before.add(compute(s).download());
        }
        before.forEach(b -> assertThat(b).containsExactly(expected));
        long pid = worker.status().pid();
        assertThat(pid).isPositive();
        // Work in flight on every stream as the worker is lost.
        List<DeviceArray> inFlight = new ArrayList<>();
        for (ComputeStream s : streams) {
            DeviceArray x = s.full(1f / N, 256, 256);
            for (int i = 0; i < 40; i++) {
                x = s.matmul(x, x);
            }
            inFlight.add(x);
            s.flush();
        }
        switch (fault) {
            case KILL -> ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            case HANG -> signal("STOP", pid);
            case STICKY -> {
                ComputeStream s = streams.get(1);
                // Every op of this stream from now on: the worker's engine meets a device-wide error.
                FaultInjector.of(isolated)
                        .orElseThrow()
                        .schedule(FaultRule.fraction(s.label(), 1.0, round, ErrorKind.DEVICE_LOST)
                                .withNativeCode(700));
                s.neg(s.upload(new float[] {1, 2, 3, 4}, 4)); // an op the worker's engine runs
                s.flush();
            }
        }
        // The device loss reaches every stream (asynchronously, as a driver's would): then each reports it.
        long lost = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (isolated.state() != BackendState.DEVICE_LOST
                || streams.stream().anyMatch(s -> s.snapshot().state() == StreamState.ACTIVE)) {
            assertThat(System.nanoTime())
                    .as("round %d: the backend noticed", round)
                    .isLessThan(lost);
            Thread.sleep(1);
        }
        for (ComputeStream s : streams) {
            assertThat(catchThrowable(s::synchronize))
                    .as("round %d, stream %s", round, s.label())
                    .isInstanceOfSatisfying(
                            StreamFailedException.class,
                            e -> assertThat(e.error().kind()).isEqualTo(ErrorKind.DEVICE_LOST));
        }
        assertThat(isolated.state()).isEqualTo(BackendState.DEVICE_LOST);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); // the backend retires it right after
        while (worker.status().state() == WorkerStatus.State.RUNNING) {
            assertThat(System.nanoTime())
                    .as("round %d: the worker is still RUNNING", round)
                    .isLessThan(deadline);
            Thread.sleep(1);
        }
        for (DeviceArray a : inFlight) {
            assertThatThrownBy(a::download) // never data (S6), and refused by Backplane, not by a bug
                    .isInstanceOf(org.backplane.api.BackplaneException.class);
        }
        FaultInjector.of(isolated).orElseThrow().clear();

        assertThat(isolated.resetAll()).isEqualTo(STREAMS);
        assertThat(isolated.state()).isEqualTo(BackendState.RUNNING);
        assertThat(worker.status().state()).isEqualTo(WorkerStatus.State.RUNNING);
        assertThat(worker.status().pid()).isNotEqualTo(pid);
        awaitGone(pid);
        for (ComputeStream s : streams) {
            assertThat(compute(s).download()).as("round %d after reset", round).containsExactly(expected);
        }
    }

    /** A small deterministic computation: (a @ b) * 0.5 + 1. */
    private static DeviceArray compute(ComputeStream s) {
        float[] a = new float[N * N];
        float[] b = new float[N * N];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) * 0.25f;
            b[i] = (i % 5) - 2f;
        }
        DeviceArray x = s.upload(a, N, N);
        DeviceArray y = s.upload(b, N, N);
        return s.add(s.mul(s.matmul(x, y), 0.5), 1.0);
    }

    private float[] expected() {
        try (ComputeStream s = reference.openStream("expected")) {
            return compute(s).download();
        }
    }

    private static void signal(String name, long pid) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid))
                .inheritIO()
                .start();
        assertThat(kill.waitFor()).isZero();
    }

    private static void awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            assertThat(System.nanoTime()).as("worker %d still alive", pid).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /**
     * The host's Backplane threads, once they number {@code expected} or after a bound: the last lost
     * worker's reader may still be ending when its replacement answers. A leak never settles.
     */
    private static int backplaneThreadsSettledAt(int expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        int now = backplaneThreads();
        while (now != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
            now = backplaneThreads();
        }
        return now;
    }

    private static int backplaneThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("backplane-"))
                .count();
    }

    private static long openFiles() {
        String[] fds = new File("/proc/self/fd").list();
        return Objects.requireNonNull(fds, "/proc/self/fd").length;
    }
}
