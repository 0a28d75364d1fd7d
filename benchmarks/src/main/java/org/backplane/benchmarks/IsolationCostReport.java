package org.backplane.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.WorkerProcess;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.isolation.IsolationSettings;

/**
 * What process isolation costs, measured against the same backend in the host in the same run, the
 * two interleaved round by round: the 8-thread scenario ({@link MotivatingScenario}), small-op
 * dispatch (1,000 adds of 1,000 floats queued, then synchronize), host copies of 64 MiB through the
 * shared memory, starting a worker, and the time from a killed worker to streams usable again.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -cp ... \
 *     org.backplane.benchmarks.IsolationCostReport --backend cpu|cuda [--iterations N] --out FILE
 * </pre>
 */
public final class IsolationCostReport {
    private static final int ROUNDS = 3;
    private static final int DISPATCH_OPS = 1000;
    private static final int DISPATCH_ROUNDS = 5;
    private static final int COPY_ELEMENTS = 16 << 20; // 64 MiB of float32
    private static final int RECOVERIES = 5;

    private IsolationCostReport() {}

    public static void main(String[] args) throws Exception {
        String backend = "cpu";
        Path out = null;
        int iterations = MotivatingScenario.ITERATIONS;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--backend" -> backend = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                default ->
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + "; usage: --backend cpu|cuda [--iterations N] [--out FILE]");
            }
        }
        String report = run(backend, iterations, String.join(" ", args));
        System.out.println(report);
        if (out != null) {
            Files.writeString(out, report);
        }
    }

    private static AutoCloseable start(String backend, boolean isolated) {
        IsolationSettings isolation = isolated
                ? IsolationSettings.PROCESS_DEFAULT.withRestartLimit(100, Duration.ofMinutes(10))
                : IsolationSettings.NONE_DEFAULT;
        return switch (backend) {
            case "cpu" -> CpuBackend.start(CpuSettings.defaults(), isolation);
            case "cuda" -> CudaBackend.start(CudaSettings.defaults(), isolation);
            default -> throw new IllegalArgumentException("backend must be cpu or cuda, not " + backend);
        };
    }

    private static String run(String backend, int iterations, String args) throws Exception {
        List<Double> hostScenario = new ArrayList<>();
        List<Double> isolatedScenario = new ArrayList<>();
        double hostDispatch;
        double isolatedDispatch;
        double hostCopy;
        double isolatedCopy;
        double startSeconds;
        List<Double> recoveries = new ArrayList<>();
        String device;
        try (AutoCloseable h = start(backend, false)) {
            ExecutionBackend host = (ExecutionBackend) h;
            long t = System.nanoTime();
            try (AutoCloseable i = start(backend, true)) {
                startSeconds = (System.nanoTime() - t) / 1e9;
                ExecutionBackend isolated = (ExecutionBackend) i;
                device = isolated.device().name();
                progress("warm-up");
                MotivatingScenario.run(host, Math.max(1, iterations / 10), true);
                MotivatingScenario.run(isolated, Math.max(1, iterations / 10), true);
                for (int r = 0; r < ROUNDS; r++) {
                    progress("scenario round " + (r + 1) + " of " + ROUNDS);
                    hostScenario.add(MotivatingScenario.run(host, iterations, true));
                    isolatedScenario.add(MotivatingScenario.run(isolated, iterations, true));
                }
                progress("dispatch");
                hostDispatch = dispatch(host);
                isolatedDispatch = dispatch(isolated);
                progress("copies");
                hostCopy = copies(host);
                isolatedCopy = copies(isolated);
                progress("recovery after a killed worker");
                for (int r = 0; r < RECOVERIES; r++) {
                    recoveries.add(recovery(isolated));
                }
            }
        }
        return report(
                backend,
                device,
                iterations,
                args,
                hostScenario,
                isolatedScenario,
                hostDispatch,
                isolatedDispatch,
                hostCopy,
                isolatedCopy,
                startSeconds,
                recoveries);
    }

    private static void progress(String what) {
        System.out.println("[isolation cost] " + what);
    }

    /** Microseconds per op, best of the rounds. */
    private static double dispatch(ExecutionBackend backend) {
        try (ComputeStream s = backend.openStream("dispatch")) {
            DeviceArray x = s.upload(new float[1000], 1000);
            DeviceArray y = s.upload(new float[1000], 1000);
            double best = Double.MAX_VALUE;
            for (int r = 0; r <= DISPATCH_ROUNDS; r++) {
                s.synchronize();
                long t = System.nanoTime();
                for (int i = 0; i < DISPATCH_OPS; i++) {
                    s.add(x, y).close();
                }
                s.synchronize();
                if (r > 0) { // the first round warms up
                    best = Math.min(best, (System.nanoTime() - t) / 1e3 / DISPATCH_OPS);
                }
            }
            return best;
        }
    }

    /** GB/s of an upload and a download of 64 MiB, best of the rounds. */
    private static double copies(ExecutionBackend backend) {
        float[] data = new float[COPY_ELEMENTS];
        for (int i = 0; i < data.length; i++) {
            data[i] = i;
        }
        try (ComputeStream s = backend.openStream("copies")) {
            double best = Double.MAX_VALUE;
            for (int r = 0; r <= DISPATCH_ROUNDS; r++) {
                long t = System.nanoTime();
                DeviceArray a = s.upload(data, COPY_ELEMENTS);
                float[] back = a.download();
                double seconds = (System.nanoTime() - t) / 1e9;
                if (back[COPY_ELEMENTS - 1] != COPY_ELEMENTS - 1) {
                    throw new IllegalStateException("the copy came back wrong");
                }
                a.close();
                if (r > 0) {
                    best = Math.min(best, seconds);
                }
            }
            return 2.0 * COPY_ELEMENTS * Float.BYTES / best / 1e9;
        }
    }

    /** Seconds from killing the worker (SIGKILL) to a stream computing again after a reset. */
    private static double recovery(ExecutionBackend isolated) throws InterruptedException {
        WorkerProcess worker = isolated.feature(WorkerProcess.class).orElseThrow();
        try (ComputeStream s = isolated.openStream("recovery")) {
            s.add(s.full(1f, 4), 1.0).download();
            long t = System.nanoTime();
            ProcessHandle.of(worker.status().pid()).ifPresent(ProcessHandle::destroyForcibly);
            while (isolated.state() != BackendState.DEVICE_LOST) {
                Thread.sleep(1);
            }
            isolated.resetAll();
            float[] v = s.add(s.full(1f, 4), 1.0).download();
            if (v[0] != 2f) {
                throw new IllegalStateException("wrong result after recovery");
            }
            return (System.nanoTime() - t) / 1e9;
        }
    }

    private static String report(
            String backend,
            String device,
            int iterations,
            String args,
            List<Double> hostScenario,
            List<Double> isolatedScenario,
            double hostDispatch,
            double isolatedDispatch,
            double hostCopy,
            double isolatedCopy,
            double startSeconds,
            List<Double> recoveries) {
        double hs = Stats.median(hostScenario);
        double is = Stats.median(isolatedScenario);
        StringBuilder md = new StringBuilder();
        md.append("# What process isolation costs: ").append(backend).append("\n\n");
        md.append("- Date: ").append(Instant.now()).append('\n');
        md.append("- Device: ").append(device).append('\n');
        md.append("- JDK: ").append(Runtime.version()).append('\n');
        md.append("- Command: `java ... org.backplane.benchmarks.IsolationCostReport ")
                .append(args)
                .append("`\n");
        md.append("- Baseline: the same backend in the host, measured in the same run, round by round\n\n");
        md.append(String.format(Locale.ROOT, "| | in the host | isolated | isolated / host | target |%n"));
        md.append("|---|---:|---:|---:|---|\n");
        md.append(String.format(
                Locale.ROOT,
                "| %d threads x %d x %dx%d matmul, eval each (median of %d, s) | %.3f | %.3f | **%.2f** | <= 1.10 |%n",
                MotivatingScenario.THREADS,
                iterations,
                MotivatingScenario.N,
                MotivatingScenario.N,
                ROUNDS,
                hs,
                is,
                is / hs));
        md.append(String.format(
                Locale.ROOT,
                "| small-op dispatch, %d adds of 1,000 floats queued (best of %d, µs per op) | %.2f | %.2f | **%.2f** | <= 2 |%n",
                DISPATCH_OPS,
                DISPATCH_ROUNDS,
                hostDispatch,
                isolatedDispatch,
                isolatedDispatch / hostDispatch));
        md.append(String.format(
                Locale.ROOT,
                "| upload + download of 64 MiB (best of %d, GB/s) | %.2f | %.2f | %.2f | |%n",
                DISPATCH_ROUNDS,
                hostCopy,
                isolatedCopy,
                isolatedCopy / hostCopy));
        md.append('\n');
        md.append("Scenario rounds (s): in the host ")
                .append(Stats.seconds(hostScenario))
                .append("; isolated ")
                .append(Stats.seconds(isolatedScenario))
                .append(".\n\n");
        md.append(String.format(
                Locale.ROOT, "Starting the isolated backend (its first worker JVM): %.2f s.%n%n", startSeconds));
        md.append(String.format(
                Locale.ROOT,
                "From a killed worker (SIGKILL) to a stream computing again after `resetAll` (a fresh worker, "
                        + "%d times): median %.2f s (%s).%n",
                recoveries.size(),
                Stats.median(recoveries),
                Stats.seconds(recoveries)));
        return md.toString();
    }
}
