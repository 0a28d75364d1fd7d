package org.backplane.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.backplane.cpu.CpuBackend;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the CPU backend's benchmarks and their baselines in one run and writes a Markdown report:
 * matmul against numpy/OpenBLAS, small-op dispatch, the 8-thread scenario against 8 Python threads
 * with numpy, and the healthy-path cost of the error check. Every ratio compares numbers measured on
 * the same machine minutes apart.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -jar benchmarks/target/backplane-benchmarks.jar [--out results/cpu-benchmarks.md] [--quick] [--python python3]
 * </pre>
 */
public final class BenchmarkReport {
    static final String COMMAND = "benchmarks/run-cpu.sh";
    static final int SCENARIO_THREADS = MotivatingScenario.THREADS;
    static final int SCENARIO_ITERATIONS = MotivatingScenario.ITERATIONS;
    static final int SCENARIO_N = MotivatingScenario.N;

    private BenchmarkReport() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of("results/cpu-benchmarks.md");
        boolean quick = false;
        String python = "python3";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--quick" -> quick = true;
                case "--python" -> python = args[++i];
                default ->
                    throw new IllegalArgumentException(
                            "unknown argument " + args[i] + "; usage: [--out FILE] [--quick] [--python PYTHON]");
            }
        }
        int scenarioRounds = quick ? 1 : 3;
        int scenarioIterations = quick ? 50 : SCENARIO_ITERATIONS;

        progress(
                "1/4 numpy baseline (matmul 256..2048, then " + scenarioRounds + " round(s) of the 8-thread scenario)");
        Map<String, Object> numpy = runNumpy(python, scenarioRounds, scenarioIterations);

        progress("2/4 JMH: matmul, dispatch, error check (forked JVMs)");
        Map<String, Double> jmh = runJmh(quick);

        progress("3/4 Backplane 8-thread scenario (" + scenarioRounds + " round(s))");
        List<Double> scenario = new ArrayList<>();
        runScenario(Math.min(100, scenarioIterations)); // warm-up
        for (int r = 0; r < scenarioRounds; r++) {
            double s = runScenario(scenarioIterations);
            scenario.add(s);
            progress(String.format(Locale.ROOT, "   round %d: %.2f s", r + 1, s));
        }

        progress("4/4 writing " + out);
        String report = report(numpy, jmh, scenario, scenarioIterations, quick);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, report);
        System.out.println(report);
    }

    private static void progress(String line) {
        System.err.println("[benchmarks] " + line);
    }

    // ------------------------------------------------------------------ numpy

    @SuppressWarnings("unchecked")
    private static Map<String, Object> runNumpy(String python, int rounds, int iterations)
            throws IOException, InterruptedException {
        String json = PythonBaseline.run(
                        python,
                        "numpy_baseline.py",
                        "numpy",
                        List.of("256,512,1024,2048", String.valueOf(rounds), String.valueOf(iterations)))
                .trim();
        return parseNumpy(json);
    }

    /** The baseline prints flat JSON; read the few fields it has without a JSON library. */
    static Map<String, Object> parseNumpy(String json) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("numpy", group(json, "\"numpy\": \"([^\"]+)\""));
        result.put("blas", group(json, "\"blas\": \"([^\"]+)\""));
        Map<Integer, Double> gflops = new LinkedHashMap<>();
        Matcher m =
                Pattern.compile("\"(\\d+)\": ([0-9.eE+-]+)").matcher(group(json, "\"matmul_gflops\": \\{([^}]*)\\}"));
        while (m.find()) {
            gflops.put(Integer.parseInt(m.group(1)), Double.parseDouble(m.group(2)));
        }
        result.put("matmul", gflops);
        List<Double> scenario = new ArrayList<>();
        for (String s : group(json, "\"scenario_seconds\": \\[([^]]*)\\]").split(",", -1)) {
            scenario.add(Double.parseDouble(s.trim()));
        }
        result.put("scenario", scenario);
        return result;
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("unexpected numpy baseline output: " + text);
        }
        return m.group(1);
    }

    // ------------------------------------------------------------------ JMH

    /** The forks' flags: this JVM's vector width ({@code -XX:UseAVX}), so that one run measures one width. */
    private static String[] jvmArgs() {
        List<String> args = new ArrayList<>(List.of(
                "--add-modules=jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Xms3g",
                "-Xmx3g",
                "-XX:+AlwaysPreTouch"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:UseAVX") || a.startsWith("-XX:MaxVectorSize")) {
                args.add(a);
            }
        }
        return args.toArray(String[]::new);
    }

    private static Map<String, Double> runJmh(boolean quick) throws Exception {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(MatmulBenchmark.class.getName())
                .include(DispatchBenchmark.class.getName())
                .include(EntryCheckBenchmark.class.getName())
                .forks(1)
                .jvmArgsAppend(jvmArgs())
                .verbosity(VerboseMode.NORMAL);
        if (quick) {
            options.warmupIterations(1)
                    .warmupTime(TimeValue.milliseconds(300))
                    .measurementIterations(2)
                    .measurementTime(TimeValue.milliseconds(300));
        } else {
            options.warmupIterations(4)
                    .warmupTime(TimeValue.seconds(1))
                    .measurementIterations(6)
                    .measurementTime(TimeValue.seconds(1));
        }
        Collection<RunResult> results = new Runner(options.build()).run();
        Map<String, Double> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            String n = r.getParams().getParam("n");
            scores.put(n == null ? name : name + "@" + n, r.getPrimaryResult().getScore());
            scores.put(
                    (n == null ? name : name + "@" + n) + ".error",
                    r.getPrimaryResult().getScoreError());
        }
        return scores;
    }

    // ------------------------------------------------------------------ scenario

    /** The 8-thread scenario on a fresh CPU backend; seconds of wall time. */
    static double runScenario(int iterations) throws Exception {
        try (CpuBackend cpu = CpuBackend.start()) {
            return MotivatingScenario.run(cpu, iterations, true);
        }
    }

    // ------------------------------------------------------------------ report

    @SuppressWarnings("unchecked")
    private static String report(
            Map<String, Object> numpy, Map<String, Double> jmh, List<Double> scenario, int iterations, boolean quick) {
        StringBuilder md = new StringBuilder();
        md.append("# CPU backend benchmarks\n\n");
        if (quick) {
            md.append("**Quick run (short warm-up and measurement): not for comparison.**\n\n");
        }
        md.append("- Date: ")
                .append(ZonedDateTime.now(java.time.ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                .append('\n');
        md.append("- Machine: ")
                .append(Machine.cpuModel())
                .append(", ")
                .append(Machine.vectorWidth())
                .append(", ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" cores, ")
                .append(memoryGiB())
                .append(" GiB RAM\n");
        md.append("- JDK: ")
                .append(System.getProperty("java.vm.name"))
                .append(' ')
                .append(Runtime.version())
                .append('\n');
        md.append("- Baseline: numpy ")
                .append(numpy.get("numpy"))
                .append(" with ")
                .append(numpy.get("blas"))
                .append('\n');
        md.append("- Command: `")
                .append(COMMAND)
                .append(quick ? " --quick" : "")
                .append("` (JMH: 1 fork, ")
                .append(quick ? "1 x 0.3 s warm-up, 2 x 0.3 s" : "4 x 1 s warm-up, 6 x 1 s")
                .append(" measurement; errors are 99.9% CIs)\n\n");

        md.append("## Matmul (float32, n x n)\n\n");
        md.append("| n | Backplane GFLOP/s | numpy GFLOP/s | ratio |\n|---:|---:|---:|---:|\n");
        Map<Integer, Double> np = (Map<Integer, Double>) numpy.get("matmul");
        double ratio1024 = Double.NaN;
        for (int n : new int[] {256, 512, 1024, 2048}) {
            Double ms = jmh.get("MatmulBenchmark.matmul@" + n);
            if (ms == null) {
                continue;
            }
            double gflops = 2.0 * n * n * n / (ms / 1e3) / 1e9;
            double ratio = gflops / np.get(n);
            if (n == 1024) {
                ratio1024 = ratio;
            }
            md.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.2f |%n", n, gflops, np.get(n), ratio));
        }
        md.append(String.format(
                Locale.ROOT,
                "%nTargets: at least 0.9 of numpy (OpenBLAS) at 512 to 2048 and 0.75 at 256 (0.6 at 128-bit width). "
                        + "At 1024: %.2f.%n%n",
                ratio1024));

        double dispatch = jmh.getOrDefault("DispatchBenchmark.queuedAdds", Double.NaN);
        double dropped = jmh.getOrDefault("DispatchBenchmark.queuedAddsDropped", Double.NaN);
        md.append("## Small-op dispatch\n\n");
        md.append(String.format(
                Locale.ROOT,
                "1,000 adds of 1,000 floats queued on one stream, then synchronize, each result closed once "
                        + "queued (its memory reused by the next op): **%.2f µs per op** end to end (± %.2f). "
                        + "Target: at most 1 µs (%s). With the results dropped without close instead, so that their "
                        + "memory comes back only when the collector finds them: %.2f µs per op (± %.2f).%n%n",
                dispatch,
                jmh.getOrDefault("DispatchBenchmark.queuedAdds.error", Double.NaN),
                dispatch <= 1 ? "met" : "NOT met",
                dropped,
                jmh.getOrDefault("DispatchBenchmark.queuedAddsDropped.error", Double.NaN)));

        List<Double> npScenario = (List<Double>) numpy.get("scenario");
        double ours = Stats.median(scenario);
        double theirs = Stats.median(npScenario);
        md.append("## The motivating scenario\n\n");
        md.append(String.format(
                Locale.ROOT,
                "%d threads x %d iterations x a %dx%d matmul, each thread on its own stream "
                        + "(Backplane: `eval` after every matmul, then `close`, as numpy frees each result) against %d "
                        + "Python threads doing the same with numpy.%n%n",
                SCENARIO_THREADS,
                iterations,
                SCENARIO_N,
                SCENARIO_N,
                SCENARIO_THREADS));
        md.append("| | wall time (median) | rounds |\n|---|---:|---|\n");
        md.append(String.format(Locale.ROOT, "| Backplane | %.2f s | %s |%n", ours, Stats.seconds(scenario)));
        md.append(String.format(
                Locale.ROOT, "| numpy, 8 Python threads | %.2f s | %s |%n%n", theirs, Stats.seconds(npScenario)));
        md.append(String.format(
                Locale.ROOT,
                "Ratio (numpy time / Backplane time): **%.2f** (above 1 means Backplane is faster; target: at least "
                        + "1.3).%n%n",
                theirs / ours));

        double check = jmh.getOrDefault("EntryCheckBenchmark.healthyEntryCheck", Double.NaN);
        double base = jmh.getOrDefault("EntryCheckBenchmark.baseline", Double.NaN);
        md.append("## Healthy-path cost of the error check\n\n");
        md.append(String.format(
                Locale.ROOT,
                "`flush()` of an idle healthy stream (the error check every call makes, two volatile "
                        + "reads, plus the stream's uncontended encode lock): %.2f ns per call, against %.2f ns for taking and releasing "
                        + "an uncontended lock, so the check and the call cost about **%.2f ns**.%n",
                check,
                base,
                Math.max(0, check - base)));
        return md.toString();
    }

    private static long memoryGiB() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return Math.round(os.getTotalMemorySize() / (double) (1L << 30));
    }
}
