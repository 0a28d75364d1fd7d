package org.backplane.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;

/**
 * The CUDA backend's benchmarks, side by side with PyTorch on the same GPU in the same run: float32
 * matmul, elementwise add of 256 MiB arrays, small-op dispatch and the 8-thread scenario. Each
 * Backplane measurement mirrors the PyTorch one in {@code torch_baseline.py} (same sizes,
 * repetitions and synchronisation points; TF32 off on both sides). Results are best-of-rounds
 * (scenario: median) and every ratio compares two numbers from this run.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.backplane.benchmarks.CudaBenchmarkReport --out FILE [--python python3]
 * </pre>
 */
public final class CudaBenchmarkReport {
    static final String COMMAND = "cuda-backend-bundle/gpu/run-on-gpu.sh benchmarks";
    private static final int[][] MATMUL = {{1024, 500}, {4096, 20}, {8192, 5}};
    private static final int HALF_MATMUL = 4096;
    private static final int HALF_MATMUL_REPS = 20;
    private static final int ENCODER_REPS = 20;
    private static final DType[] HALF_TYPES = {DType.FLOAT16, DType.BFLOAT16};
    private static final DType[] ENCODER_TYPES = {DType.FLOAT32, DType.BFLOAT16};
    private static final int ADD_ELEMENTS = 64 << 20; // 256 MiB of float32
    private static final int ADD_REPS = 50;
    private static final int DISPATCH_OPS = 1000;
    private static final int ROUNDS = 5;
    private static final int THREADS = MotivatingScenario.THREADS;
    private static final int ITERATIONS = MotivatingScenario.ITERATIONS;
    private static final int SCENARIO_N = MotivatingScenario.N;
    private static final int SCENARIO_ROUNDS = 3;

    private CudaBenchmarkReport() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of("cuda-benchmarks.md");
        String python = "python3";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--python" -> python = args[++i];
                default ->
                    throw new IllegalArgumentException(
                            "unknown argument " + args[i] + "; usage: [--out FILE] [--python PYTHON]");
            }
        }
        progress("1/5 PyTorch baseline on the same GPU");
        Map<String, String> torch = runTorch(python);
        Map<String, Double> ours = new LinkedHashMap<>();
        String device;
        String details;
        try (CudaBackend cuda = CudaBackend.start(CudaSettings.defaults())) {
            device = cuda.device().name() + ", " + cuda.device().memoryBytes() / (1L << 30) + " GiB";
            details = cuda.device().details().toString();
            ComputeStream s = cuda.openStream("bench");
            progress("2/5 Backplane matmul");
            for (int[] m : MATMUL) {
                ours.put("matmul." + m[0], matmul(s, m[0], m[1]));
                progress(String.format(
                        Locale.ROOT,
                        "   %d: %.0f GFLOP/s (torch %.0f)",
                        m[0],
                        ours.get("matmul." + m[0]),
                        Double.parseDouble(torch.get("matmul." + m[0]))));
            }
            for (DType t : HALF_TYPES) {
                ours.put("matmul." + t.id() + "." + HALF_MATMUL, halfMatmul(s, t));
                progress(String.format(
                        Locale.ROOT,
                        "   %s %d: %.0f GFLOP/s (torch %.0f)",
                        t.id(),
                        HALF_MATMUL,
                        ours.get("matmul." + t.id() + "." + HALF_MATMUL),
                        Double.parseDouble(torch.get("matmul." + t.id() + "." + HALF_MATMUL))));
            }
            for (DType t : ENCODER_TYPES) {
                ours.put("encoder." + t.id() + ".ms", EncoderLayerTiming.bestMillis(s, t, ENCODER_REPS, ROUNDS));
                progress(String.format(
                        Locale.ROOT,
                        "   encoder layer %s: %.3f ms (torch %.3f)",
                        t.id(),
                        ours.get("encoder." + t.id() + ".ms"),
                        Double.parseDouble(torch.get("encoder." + t.id() + ".ms"))));
            }
            progress("3/5 Backplane add of 256 MiB arrays");
            ours.put("add.gbps", add(s));
            progress("4/5 Backplane dispatch");
            ours.put("dispatch.us", dispatch(s));
            s.close();
            progress("5/5 Backplane 8-thread scenario");
            scenario(cuda, 100); // warm-up
            for (int r = 0; r < SCENARIO_ROUNDS; r++) {
                ours.put("scenario." + r, scenario(cuda, ITERATIONS));
                progress(String.format(Locale.ROOT, "   round %d: %.2f s", r + 1, ours.get("scenario." + r)));
            }
        }
        String report = report(device, details, torch, ours);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, report);
        System.out.println(report);
    }

    private static void progress(String line) {
        System.err.println("[cuda-benchmarks] " + line);
    }

    // ------------------------------------------------------------------ PyTorch

    static Map<String, String> runTorch(String python) throws IOException, InterruptedException {
        StringBuilder matmul = new StringBuilder();
        for (int[] m : MATMUL) {
            matmul.append(matmul.isEmpty() ? "" : ",").append(m[0]).append(':').append(m[1]);
        }
        String text = PythonBaseline.run(
                python,
                "torch_baseline.py",
                "torch with CUDA",
                List.of(
                        "rounds=" + ROUNDS,
                        "matmul=" + matmul,
                        "halfmatmul=" + HALF_MATMUL + ":" + HALF_MATMUL_REPS,
                        "encoder=" + EncoderLayerTiming.BATCH + ":" + EncoderLayerTiming.SEQ + ":"
                                + EncoderLayerTiming.HIDDEN + ":" + EncoderLayerTiming.HEADS + ":"
                                + EncoderLayerTiming.FFN + ":" + ENCODER_REPS,
                        "add=" + ADD_ELEMENTS + ":" + ADD_REPS,
                        "dispatch=" + DISPATCH_OPS,
                        "scenario=" + THREADS + ":" + ITERATIONS + ":" + SCENARIO_N + ":" + SCENARIO_ROUNDS));
        return parse(text);
    }

    /** {@code key=value} lines. */
    static Map<String, String> parse(String text) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : text.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return values;
    }

    // ------------------------------------------------------------------ Backplane

    interface Body {
        void run();
    }

    /** Best seconds per repetition over the rounds; each round ends when the stream has drained. */
    private static double timed(ComputeStream s, Body body, int reps) {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < ROUNDS; r++) {
            s.synchronize();
            long t = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                body.run();
            }
            s.synchronize();
            best = Math.min(best, (System.nanoTime() - t) / 1e9 / reps);
        }
        return best;
    }

    private static double matmul(ComputeStream s, int n, int reps) {
        Random r = new Random(n);
        DeviceArray a = s.upload(MatmulBenchmark.random(r, n * n), n, n);
        DeviceArray b = s.upload(MatmulBenchmark.random(r, n * n), n, n);
        Body body = () -> s.matmul(a, b).close(); // closed at once: freed when the GPU is done with it
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        double seconds = timed(s, body, reps);
        a.close();
        b.close();
        return 2.0 * n * n * n / seconds / 1e9;
    }

    /** GFLOP/s of an n x n product in a half type (cuBLAS GEMM on tensor cores, float32 accumulation). */
    private static double halfMatmul(ComputeStream s, DType type) {
        int n = HALF_MATMUL;
        Random r = new Random(n);
        DeviceArray a = s.astype(s.upload(MatmulBenchmark.random(r, n * n), n, n), type);
        DeviceArray b = s.astype(s.upload(MatmulBenchmark.random(r, n * n), n, n), type);
        Body body = () -> s.matmul(a, b).close();
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        double seconds = timed(s, body, HALF_MATMUL_REPS);
        a.close();
        b.close();
        return 2.0 * n * n * n / seconds / 1e9;
    }

    private static double add(ComputeStream s) {
        Random r = new Random(7);
        DeviceArray a = s.upload(MatmulBenchmark.random(r, ADD_ELEMENTS), ADD_ELEMENTS);
        DeviceArray b = s.upload(MatmulBenchmark.random(r, ADD_ELEMENTS), ADD_ELEMENTS);
        Body body = () -> s.add(a, b).close();
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        double seconds = timed(s, body, ADD_REPS);
        a.close();
        b.close();
        return 3.0 * Float.BYTES * ADD_ELEMENTS / seconds / 1e9;
    }

    private static double dispatch(ComputeStream s) {
        DeviceArray x = s.upload(new float[1000], 1000);
        DeviceArray y = s.upload(new float[1000], 1000);
        Body queue = () -> {
            for (int i = 0; i < DISPATCH_OPS; i++) {
                s.add(x, y).close();
            }
        };
        queue.run();
        return timed(s, queue, 1) / DISPATCH_OPS * 1e6;
    }

    /** The 8-thread scenario, each result closed after eval (device memory back at once); wall seconds. */
    private static double scenario(CudaBackend cuda, int iterations) throws Exception {
        return MotivatingScenario.run(cuda, iterations, true);
    }

    // ------------------------------------------------------------------ report

    private static String report(String device, String details, Map<String, String> torch, Map<String, Double> ours) {
        StringBuilder md = new StringBuilder();
        md.append("## Benchmarks against PyTorch (same GPU, same run)\n\n");
        md.append("- Date: ")
                .append(ZonedDateTime.now(java.time.ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                .append('\n');
        md.append("- Device: ").append(device).append(' ').append(details).append('\n');
        md.append("- Baseline: PyTorch ")
                .append(torch.get("torch"))
                .append(" (CUDA ")
                .append(torch.get("cuda"))
                .append(") on ")
                .append(torch.get("device"))
                .append(", TF32 off on both sides\n");
        md.append("- JDK: ")
                .append(System.getProperty("java.vm.name"))
                .append(' ')
                .append(Runtime.version())
                .append('\n');
        md.append("- Command: `")
                .append(COMMAND)
                .append("` (best of ")
                .append(ROUNDS)
                .append(" timed rounds after warm-up; the scenario: median of ")
                .append(SCENARIO_ROUNDS)
                .append(" rounds)\n\n");

        md.append("### Matmul (float32, n x n, result closed after each call)\n\n");
        md.append("| n | repetitions | Backplane GFLOP/s | PyTorch GFLOP/s | ratio |\n|---:|---:|---:|---:|---:|\n");
        double ratio4096 = Double.NaN;
        for (int[] m : MATMUL) {
            double b = ours.get("matmul." + m[0]);
            double t = Double.parseDouble(torch.get("matmul." + m[0]));
            if (m[0] == 4096) {
                ratio4096 = b / t;
            }
            md.append(String.format(Locale.ROOT, "| %d | %d | %.0f | %.0f | %.2f |%n", m[0], m[1], b, t, b / t));
        }
        md.append(String.format(
                Locale.ROOT,
                "%nTarget: at least 90%% of torch.matmul at 4096. Measured: %.0f%% (%s).%n%n",
                ratio4096 * 100,
                ratio4096 >= 0.9 ? "met" : "NOT met"));

        md.append("### Half-precision matmul (n = ")
                .append(HALF_MATMUL)
                .append(", cuBLAS tensor cores, float32 accumulation)\n\n");
        md.append("| type | Backplane GFLOP/s | torch.matmul GFLOP/s | ratio |\n|---|---:|---:|---:|\n");
        StringBuilder halfVerdicts = new StringBuilder();
        for (DType t : HALF_TYPES) {
            double b = ours.get("matmul." + t.id() + "." + HALF_MATMUL);
            double th = Double.parseDouble(torch.get("matmul." + t.id() + "." + HALF_MATMUL));
            md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f |%n", t.id(), b, th, b / th));
            halfVerdicts.append(String.format(
                    Locale.ROOT, " %s %.0f%% (%s);", t.id(), b / th * 100, b / th >= 0.9 ? "met" : "NOT met"));
        }
        md.append("\nTarget: at least 90% of torch.matmul in the same type. Measured:")
                .append(halfVerdicts)
                .append("\n\n");

        md.append("### Transformer encoder layer (batch ")
                .append(EncoderLayerTiming.BATCH)
                .append(", sequence ")
                .append(EncoderLayerTiming.SEQ)
                .append(", width ")
                .append(EncoderLayerTiming.HIDDEN)
                .append(", ")
                .append(EncoderLayerTiming.HEADS)
                .append(" heads, MLP ")
                .append(EncoderLayerTiming.FFN)
                .append("; every forward pass waited for)\n\n");
        md.append("Backplane: `EncoderLayer` (public API only). PyTorch: the same layer in eager mode with "
                + "`F.scaled_dot_product_attention`, `F.layer_norm`, `F.gelu`, under `torch.inference_mode()`.\n\n");
        md.append("| type | Backplane ms | PyTorch ms | ratio (PyTorch / Backplane) |\n|---|---:|---:|---:|\n");
        StringBuilder encoderVerdicts = new StringBuilder();
        for (DType t : ENCODER_TYPES) {
            double b = ours.get("encoder." + t.id() + ".ms");
            double th = Double.parseDouble(torch.get("encoder." + t.id() + ".ms"));
            md.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.2f |%n", t.id(), b, th, th / b));
            encoderVerdicts.append(
                    String.format(Locale.ROOT, " %s %.2f (%s);", t.id(), th / b, th / b >= 1.0 ? "met" : "NOT met"));
        }
        md.append("\nTarget: no slower than PyTorch (ratio at least 1.0). Measured:")
                .append(encoderVerdicts)
                .append("\n\n");

        double addOurs = ours.get("add.gbps");
        double addTorch = Double.parseDouble(torch.get("add.gbps"));
        md.append("### Elementwise add of two 256 MiB arrays\n\n");
        md.append("| | GB/s (read a, b, write c) |\n|---|---:|\n");
        md.append(String.format(Locale.ROOT, "| Backplane | %.0f |%n| PyTorch | %.0f |%n%n", addOurs, addTorch));
        md.append(String.format(
                Locale.ROOT,
                "Target: at least 80%% of torch's bandwidth. Measured: %.0f%% (%s).%n%n",
                addOurs / addTorch * 100,
                addOurs / addTorch >= 0.8 ? "met" : "NOT met"));

        double dOurs = ours.get("dispatch.us");
        double dTorch = Double.parseDouble(torch.get("dispatch.us"));
        md.append("### Small-op dispatch\n\n");
        md.append(String.format(
                Locale.ROOT,
                "%d adds of 1,000 floats queued on one stream, then synchronize: Backplane "
                        + "**%.2f µs per op**, PyTorch %.2f µs per op (ratio torch/Backplane %.2f; above 1 means Backplane is faster).%n%n",
                DISPATCH_OPS,
                dOurs,
                dTorch,
                dTorch / dOurs));

        List<Double> sOurs = new ArrayList<>();
        List<Double> sTorch = new ArrayList<>();
        for (int r = 0; r < SCENARIO_ROUNDS; r++) {
            sOurs.add(ours.get("scenario." + r));
            sTorch.add(Double.parseDouble(torch.get("scenario." + r)));
        }
        double mo = Stats.median(sOurs);
        double mt = Stats.median(sTorch);
        md.append("### The motivating scenario\n\n");
        md.append(String.format(
                Locale.ROOT,
                "%d threads x %d iterations x a %dx%d matmul, each thread on its own stream, waiting "
                        + "for each result (Backplane `eval`; PyTorch `stream.synchronize()`), against PyTorch with %d Python threads on "
                        + "%d CUDA streams.%n%n",
                THREADS,
                ITERATIONS,
                SCENARIO_N,
                SCENARIO_N,
                THREADS,
                THREADS));
        md.append("| | wall time (median) | rounds |\n|---|---:|---|\n");
        md.append(String.format(Locale.ROOT, "| Backplane | %.2f s | %s |%n", mo, Stats.seconds(sOurs)));
        md.append(String.format(
                Locale.ROOT, "| PyTorch, 8 threads, 8 streams | %.2f s | %s |%n%n", mt, Stats.seconds(sTorch)));
        md.append(String.format(
                Locale.ROOT,
                "Ratio (PyTorch time / Backplane time): **%.2f**. Target: no slower than PyTorch (%s).%n",
                mt / mo,
                mt / mo >= 1 ? "met" : "NOT met"));
        return md.toString();
    }
}
