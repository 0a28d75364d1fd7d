package org.backplane.cuda.scenarios;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamErrorException;
import org.backplane.api.StreamState;
import org.backplane.api.WorkerProcess;
import org.backplane.api.WorkerStatus;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.CpuBackend;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.isolation.IsolationSettings;
import org.backplane.spi.BackendSettings;

/**
 * A real out-of-bounds kernel (CUDA error 700, sticky) in the worker of an isolated CUDA backend,
 * {@link #ROUNDS} times in a row in one host JVM. Each time: the bystanders' results completed before
 * the fault are intact, every stream reports DEVICE_LOST, a reset brings every stream back on a
 * fresh worker, and results match the CPU reference again. Prints the time from the fault to the
 * streams being usable again; prints FAIL for a step that does not hold (exit status 1).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.backplane.cuda.scenarios.IsolatedFaultScenario
 * </pre>
 */
public final class IsolatedFaultScenario {
    private static final int ROUNDS = 10;
    private static final int STREAMS = 4;
    private static final int N = 256;
    private int failures;

    public static void main(String[] args) throws Exception {
        if (!CudaBackend.isAvailable()) {
            System.err.println("no GPU: " + CudaBackend.availability());
            System.exit(2);
        }
        IsolatedFaultScenario s = new IsolatedFaultScenario();
        s.run();
        System.out.println(
                s.failures == 0
                        ? "RESULT: every step held in every round"
                        : "RESULT: " + s.failures + " step(s) did NOT hold");
        System.exit(s.failures == 0 ? 0 : 1);
    }

    void run() {
        BackendSettings common = BackendSettings.DEFAULT.withFaultInjection(List.of());
        // No backoff: the time measured is the fault's cost itself (a worker start); the default
        // policy waits 100 ms more before the second replacement within its window, doubling.
        IsolationSettings isolation = IsolationSettings.PROCESS_DEFAULT
                .withRestartLimit(ROUNDS + 5, Duration.ofMinutes(10))
                .withRestartBackoff(Duration.ZERO);
        List<Double> recoveries = new ArrayList<>();
        try (CudaBackend cuda = CudaBackend.start(
                        CudaSettings.defaults().withCommon(common).withRealFaults(true), isolation);
                CpuBackend cpu = CpuBackend.start()) {
            WorkerProcess worker = cuda.feature(WorkerProcess.class).orElseThrow();
            FaultInjector faults = FaultInjector.of(cuda).orElseThrow();
            System.out.println(
                    "device: " + cuda.device().name() + ", " + cuda.device().details());
            List<ComputeStream> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                streams.add(cuda.openStream(i == 0 ? "victim" : "bystander-" + i));
            }
            float[] a = random(1, N * N);
            float[] b = random(2, N * N);
            float[] expected;
            try (ComputeStream ref = cpu.openStream("reference")) {
                expected = ref.matmul(ref.upload(a, N, N), ref.upload(b, N, N)).download();
            }
            for (int round = 1; round <= ROUNDS; round++) {
                long pid = worker.status().pid();
                List<float[]> before = new ArrayList<>();
                for (ComputeStream s : streams.subList(1, STREAMS)) {
                    before.add(s.matmul(s.upload(a, N, N), s.upload(b, N, N)).download());
                }
                List<float[]> kept = before.stream().map(float[]::clone).toList();
                ComputeStream victim = streams.get(0);
                long next = victim.snapshot().opsSubmitted() + 1;
                faults.schedule(FaultRule.atOp(
                        "victim", next, ErrorKind.PAGE_FAULT)); // a real kernel writing far out of bounds
                victim.neg(victim.upload(a, N, N));
                StreamErrorException reported = null;
                try {
                    victim.synchronize();
                } catch (StreamErrorException e) {
                    reported = e;
                }
                long faultSeen = System.nanoTime();
                String r = "round " + round + ": ";
                check(
                        r + "the victim's caller gets the real fault",
                        reported != null && reported.error().nativeCode() == 700);
                if (reported != null) {
                    System.out.println("  " + r + "reported " + reported.error().describe());
                }
                // The loss reaches every stream asynchronously (as the driver's report would): wait for it.
                long deadline = System.nanoTime() + 30_000_000_000L;
                while ((cuda.state() != BackendState.DEVICE_LOST
                                || streams.stream().anyMatch(s -> s.snapshot().state() == StreamState.ACTIVE))
                        && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                boolean allLost = true;
                for (ComputeStream s : streams.subList(1, STREAMS)) {
                    try {
                        s.synchronize();
                        allLost = false;
                    } catch (StreamErrorException e) {
                        allLost &= e.error().kind() == ErrorKind.DEVICE_LOST;
                    }
                }
                check(r + "every bystander reports DEVICE_LOST", allLost);
                check(r + "the backend is DEVICE_LOST", cuda.state() == BackendState.DEVICE_LOST);
                boolean intact = true;
                for (int i = 0; i < before.size(); i++) {
                    intact &= Arrays.equals(before.get(i), kept.get(i)) && close(before.get(i), expected);
                }
                check(r + "results the bystanders completed before the fault are intact", intact);
                faults.clear();
                cuda.resetAll();
                boolean usable = true;
                for (ComputeStream s : streams) {
                    usable &=
                            close(s.matmul(s.upload(a, N, N), s.upload(b, N, N)).download(), expected);
                }
                double ms = (System.nanoTime() - faultSeen) / 1e6;
                recoveries.add(ms);
                WorkerStatus st = worker.status();
                check(
                        r + "after reset every stream matches the CPU reference again, on a fresh worker",
                        usable && st.pid() != pid && st.state() == WorkerStatus.State.RUNNING);
                check(
                        r + "the old worker process is gone",
                        !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) || awaitGone(pid));
                System.out.printf(
                        Locale.ROOT, "  %sfault to usable again: %.0f ms (worker %d -> %d)%n", r, ms, pid, st.pid());
            }
            recoveries.sort(Double::compare);
            System.out.printf(
                    Locale.ROOT,
                    "fault to usable again over %d rounds: median %.0f ms, min %.0f ms, max %.0f ms; %s%n",
                    ROUNDS,
                    recoveries.get(recoveries.size() / 2),
                    recoveries.get(0),
                    recoveries.get(recoveries.size() - 1),
                    worker.status().describe());
        }
        check("the host JVM is alive after " + ROUNDS + " sticky faults", true);
    }

    private static boolean awaitGone(long pid) {
        for (int i = 0; i < 500; i++) {
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return true;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    private void check(String what, boolean held) {
        System.out.println((held ? "ok   " : "FAIL ") + what);
        if (!held) {
            failures++;
        }
    }

    private static boolean close(float[] got, float[] expected) {
        if (got.length != expected.length) {
            return false;
        }
        for (int i = 0; i < got.length; i++) {
            if (Math.abs(got[i] - expected[i]) > 1e-3f * Math.max(1f, Math.abs(expected[i]))) {
                return false;
            }
        }
        return true;
    }

    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }
}
