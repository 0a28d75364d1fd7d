package org.backplane.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.cpu.CpuBackend;

/**
 * The transformer encoder layer on the CPU backend against the same layer in numpy (BLAS matmuls,
 * scipy's erf), measured in the same run on the same machine; writes a Markdown report.
 *
 * <pre>
 * benchmarks/run-encoder-cpu.sh   (java ... org.backplane.benchmarks.EncoderLayerReport --out FILE [--python python3])
 * </pre>
 */
public final class EncoderLayerReport {
    static final String COMMAND = "benchmarks/run-encoder-cpu.sh";
    private static final int REPS = 5;
    private static final int ROUNDS = 5;

    private EncoderLayerReport() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of("results/encoder-layer-cpu.md");
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
        System.err.println("[encoder-cpu] 1/3 numpy baseline");
        Map<String, String> numpy = CudaBenchmarkReport.parse(PythonBaseline.run(
                python,
                "numpy_encoder.py",
                "numpy and scipy",
                List.of((EncoderLayerTiming.shapeArgs() + " reps=" + REPS + " rounds=" + ROUNDS).split(" "))));
        double f32;
        double bf16;
        String device;
        try (CpuBackend cpu = CpuBackend.start();
                ComputeStream s = cpu.openStream("encoder")) {
            device = cpu.device().name() + " " + cpu.device().details();
            System.err.println("[encoder-cpu] 2/3 Backplane float32");
            f32 = EncoderLayerTiming.bestMillis(s, DType.FLOAT32, REPS, ROUNDS);
            System.err.println("[encoder-cpu] 3/3 Backplane bfloat16");
            bf16 = EncoderLayerTiming.bestMillis(s, DType.BFLOAT16, REPS, ROUNDS);
        }
        double np = Double.parseDouble(numpy.get("encoder.float32.ms"));
        StringBuilder md = new StringBuilder();
        md.append("# Encoder layer on the CPU backend, against numpy\n\n");
        md.append("- Date: ")
                .append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                .append('\n');
        md.append("- Machine: ").append(device).append('\n');
        md.append("- Baseline: numpy ").append(numpy.get("numpy")).append(" (BLAS matmuls; scipy's erf), float32\n");
        md.append("- JDK: ").append(Runtime.version()).append('\n');
        md.append("- Command: `")
                .append(COMMAND)
                .append("` (best of ")
                .append(ROUNDS)
                .append(" rounds of ")
                .append(REPS)
                .append(" forward passes, each waited for, after warm-up)\n\n");
        md.append("The layer of `EncoderLayerTests` (`testkit/.../encoder/EncoderLayer.java`, public API only): batch ")
                .append(EncoderLayerTiming.BATCH)
                .append(", sequence ")
                .append(EncoderLayerTiming.SEQ)
                .append(", width ")
                .append(EncoderLayerTiming.HIDDEN)
                .append(", ")
                .append(EncoderLayerTiming.HEADS)
                .append(" heads, MLP ")
                .append(EncoderLayerTiming.FFN)
                .append(", padding mask; numpy runs the same layer written as well as numpy allows (2-D linear layers, "
                        + "contiguous heads: `benchmarks/src/main/resources/numpy_encoder.py`).\n\n");
        md.append("| | ms per forward pass |\n|---|---:|\n");
        md.append(String.format(Locale.ROOT, "| Backplane CPU, float32 | %.1f |%n", f32));
        md.append(String.format(Locale.ROOT, "| Backplane CPU, bfloat16 | %.1f |%n", bf16));
        md.append(String.format(Locale.ROOT, "| numpy, float32 | %.1f |%n%n", np));
        md.append(String.format(
                Locale.ROOT,
                "Ratio (numpy time / Backplane time), float32: **%.2f** (above 1 means Backplane is faster).%n",
                np / f32));
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, md.toString());
        System.out.println(md);
        System.err.println(
                "[encoder-cpu] wrote " + out.toAbsolutePath() + " " + Arrays.toString(new double[] {f32, np}));
    }
}
