package org.backplane.benchmarks;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.ExecutionBackend;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.embeddings.internal.Embedder;
import org.backplane.embeddings.internal.ModelFiles;
import org.backplane.testkit.embeddings.TestModel;

/**
 * all-MiniLM-L6-v2 sentence embeddings, Backplane against a baseline in the same run on the same
 * machine: ONNX Runtime on the CPU backend's machine, PyTorch (the model's weights read from the
 * same file) on the CUDA backend's GPU. Sentences per second at batch 1 and batch 32, every
 * sequence padded to 128 tokens; each batch is the whole pipeline after tokenization (upload, the
 * encoder, mean pooling, normalisation, vectors back on the host), waited for. Writes a Markdown
 * report.
 *
 * <pre>
 * benchmarks/run-embeddings-cpu.sh                       (--backend cpu)
 * cuda-backend-bundle/gpu/run-on-gpu.sh embeddings       (--backend cuda --model FILE --python PYTHON)
 * </pre>
 */
public final class EmbeddingReport {
    static final int SEQ = 128;
    /** The batch sizes measured: 1 and 32, or {@code -Dbackplane.embeddings.batches=8,16} (for profiling one). */
    static final int[] BATCHES = java.util.Arrays.stream(
                    System.getProperty("backplane.embeddings.batches", "1,32").split(","))
            .mapToInt(b -> Integer.parseInt(b.trim()))
            .toArray();

    private static final int ROUNDS = 7;
    /** Batches per timed round are chosen so that a round takes about this long. */
    private static final double ROUND_SECONDS = 1.0;
    /**
     * Each side runs this long at each batch size before it is timed: the JIT compiles the Java
     * kernels only after thousands of calls (200 ms of warm-up left the first rounds of both sides
     * climbing by a factor of three).
     */
    private static final double WARMUP_SECONDS = 4.0;

    private EmbeddingReport() {}

    /** Embeds one padded batch of token ids; the vectors come back on the host. */
    interface BatchEmbedder {
        List<float[]> embed(int[][] ids) throws Exception;
    }

    /** One batch size's result: sentences per second of each side over the rounds. */
    record Rate(int batch, List<Double> ours, List<Double> theirs) {}

    public static void main(String[] args) throws Exception {
        String backend = "cpu";
        Path out = null;
        String python = "python3";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--backend" -> backend = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--python" -> python = args[++i];
                case "--model" -> System.setProperty("backplane.test.model", args[++i]);
                default ->
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + "; usage: [--backend cpu|cuda] [--out FILE] [--model JAR_OR_ONNX] [--python PYTHON]");
            }
        }
        if (!backend.equals("cpu") && !backend.equals("cuda")) {
            throw new IllegalArgumentException("--backend must be cpu or cuda, not " + backend);
        }
        if (out == null) {
            out = Path.of("results/embeddings-" + backend + ".md");
        }
        progress("1/4 reading the model and the corpus");
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.open(TestModel.location(), TestModel.tokenizer(), SEQ);
        Duration load = Duration.ofNanos(System.nanoTime() - start);
        Embedder embedder = new Embedder(files.model(), files.tokenizer(), SEQ);
        List<String> sentences = TestModel.sentences();
        int[][] ids = embedder.tokenize(sentences.subList(0, 32 * 8));
        Report report =
                backend.equals("cpu") ? OnnxRuntimeEmbedder.compare(embedder, ids) : cuda(embedder, ids, python);
        report.load = load;
        report.modelRead = files.model().readTime();
        String md = report.markdown(backend);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, md);
        System.out.println(md);
        progress("wrote " + out.toAbsolutePath());
        files.model().close();
    }

    /** What a run found, for the report. */
    static final class Report {
        String device;
        String baselineName;
        String baseline;
        String command;
        String notes = "";
        Duration load;
        Duration modelRead;
        Duration upload;
        String baselineLoad;
        final List<Rate> rates = new ArrayList<>();
        final Map<String, String> agreement = new LinkedHashMap<>();

        String markdown(String backend) {
            StringBuilder md = new StringBuilder();
            md.append("# Sentence embeddings (all-MiniLM-L6-v2): Backplane ")
                    .append(backend.toUpperCase(Locale.ROOT))
                    .append(" against ")
                    .append(baselineName)
                    .append("\n\n");
            md.append("- Date: ")
                    .append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                    .append('\n');
            md.append("- Machine: ").append(device).append('\n');
            md.append("- Baseline: ").append(baseline).append('\n');
            md.append("- JDK: ").append(Runtime.version()).append('\n');
            md.append("- Command: `").append(command).append("`\n\n");
            md.append("Each batch is the pipeline after tokenization: token ids in, the 6-layer encoder, mean pooling "
                            + "over the attention mask, L2 normalisation, the vectors back on the host, waited for. Every "
                            + "sequence is padded to ")
                    .append(SEQ)
                    .append(" tokens; sentences from the test corpus. The two sides alternate, round by round ("
                            + ROUNDS
                            + " rounds of about "
                            + ROUND_SECONDS
                            + " s each, after "
                            + WARMUP_SECONDS
                            + " s of warm-up for each side); the table gives the median round.\n\n");
            md.append("| batch | Backplane sentences/s | baseline sentences/s | ratio (Backplane / baseline) |\n");
            md.append("|---:|---:|---:|---:|\n");
            for (Rate r : rates) {
                double ours = Stats.median(r.ours());
                double theirs = Stats.median(r.theirs());
                md.append(String.format(
                        Locale.ROOT, "| %d | %.1f | %.1f | **%.2f** |%n", r.batch(), ours, theirs, ours / theirs));
            }
            md.append("\nRounds (sentences/s, in run order):\n\n");
            for (Rate r : rates) {
                md.append(String.format(
                        Locale.ROOT,
                        "- batch %d: Backplane %s; baseline %s%n",
                        r.batch(),
                        Stats.seconds(r.ours()),
                        Stats.seconds(r.theirs())));
            }
            md.append("\nLoad:\n\n");
            md.append(String.format(
                    Locale.ROOT,
                    "- Backplane: %.2f s to read the model archive and its tokenizer (of which %.2f s reading and "
                            + "checking the ONNX graph), %.2f s to upload the weights to the backend%n",
                    seconds(load),
                    seconds(modelRead),
                    seconds(upload)));
            md.append("- Baseline: ").append(baselineLoad).append("\n\n");
            md.append("Agreement on the first batch of 32 (the same padded ids on both sides):\n\n");
            agreement.forEach(
                    (k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
            if (!notes.isEmpty()) {
                md.append('\n').append(notes).append('\n');
            }
            return md.toString();
        }
    }

    private static Report cuda(Embedder embedder, int[][] ids, String python) throws Exception {
        Report report = new Report();
        report.command = "bash cuda-backend-bundle/gpu/run-on-gpu.sh embeddings";
        progress("2/4 PyTorch on the same GPU, the same weights (read from the .onnx by the script)");
        Path idsFile = Files.createTempFile("embedding-ids", ".bin");
        Path vectorsFile = Files.createTempFile("torch-vectors", ".bin");
        Path onnx = Files.createTempFile("model", ".onnx");
        Map<String, String> torch;
        try {
            writeIds(idsFile, ids);
            Files.write(onnx, ModelBytes.onnx(TestModel.location()));
            torch = CudaBenchmarkReport.parse(PythonBaseline.run(
                    python,
                    "torch_minilm.py",
                    "torch with CUDA, transformers and onnx",
                    List.of(
                            onnx.toString(),
                            idsFile.toString(),
                            vectorsFile.toString(),
                            Integer.toString(SEQ),
                            Integer.toString(ROUNDS),
                            Double.toString(ROUND_SECONDS))));
            report.baselineName = "PyTorch";
            report.baseline = "PyTorch " + torch.get("torch") + " with transformers " + torch.get("transformers")
                    + " (BertModel, attention " + torch.get("attention")
                    + ", float32, TF32 off, eager), the weights read from the same .onnx file";
            report.baselineLoad =
                    "PyTorch: " + torch.get("load.s") + " s to read the .onnx and build the model on " + "the GPU";
            float[] theirs = readFloats(vectorsFile);
            try (CudaBackend cuda = CudaBackend.start(CudaSettings.defaults());
                    ComputeStream s = cuda.openStream("embeddings-benchmark")) {
                report.device = cuda.device().name() + ", " + cuda.device().details();
                report.upload = upload(embedder, cuda);
                progress("3/4 Backplane CUDA");
                for (int batch : BATCHES) {
                    BatchEmbedder ours = (b) -> embedder.embedPadded(s, b, SEQ);
                    int n = batchesPerRound(ours, batches(ids, batch));
                    List<Double> rounds = new ArrayList<>();
                    for (int r = 0; r < ROUNDS; r++) {
                        rounds.add(round(ours, batches(ids, batch), n, batch));
                    }
                    List<Double> base = new ArrayList<>();
                    for (String v : torch.get("b" + batch + ".sps").split(",", -1)) {
                        base.add(Double.parseDouble(v));
                    }
                    report.rates.add(new Rate(batch, rounds, base));
                    progress(String.format(
                            Locale.ROOT,
                            "   batch %d: %.1f sentences/s (PyTorch %.1f)",
                            batch,
                            Stats.median(rounds),
                            Stats.median(base)));
                }
                agreement(report, embedder.embedPadded(s, batches(ids, 32).getFirst(), SEQ), theirs);
                report.notes = "PyTorch cannot alternate with the JVM round by round, so it ran its rounds first, in "
                        + "the same run on the same GPU.";
            }
        } finally {
            Files.deleteIfExists(idsFile);
            Files.deleteIfExists(vectorsFile);
            Files.deleteIfExists(onnx);
        }
        return report;
    }

    /** Both sides, alternating round by round, at each batch size; and their agreement. */
    static void compare(Report report, BatchEmbedder ours, BatchEmbedder theirs, int[][] ids) throws Exception {
        progress("2/4 warm-up");
        for (int batch : BATCHES) {
            List<int[][]> work = batches(ids, batch);
            int n = Math.max(batchesPerRound(ours, work), 1);
            batchesPerRound(theirs, work);
            progress("3/4 batch " + batch + ": " + n + " batches per round");
            List<Double> a = new ArrayList<>();
            List<Double> b = new ArrayList<>();
            for (int r = 0; r < ROUNDS; r++) {
                a.add(round(ours, work, n, batch));
                b.add(round(theirs, work, n, batch));
                progress(String.format(
                        Locale.ROOT,
                        "   round %d: Backplane %.1f, baseline %.1f sentences/s",
                        r + 1,
                        a.getLast(),
                        b.getLast()));
            }
            report.rates.add(new Rate(batch, a, b));
        }
        progress("4/4 agreement");
        float[] flat = flatten(theirs.embed(batches(ids, 32).getFirst()));
        agreement(report, ours.embed(batches(ids, 32).getFirst()), flat);
    }

    private static void agreement(Report report, List<float[]> ours, float[] theirs) {
        double minCos = 1;
        double maxDiff = 0;
        int width = ours.getFirst().length;
        for (int i = 0; i < ours.size(); i++) {
            float[] a = ours.get(i);
            float[] b = Arrays.copyOfRange(theirs, i * width, (i + 1) * width);
            double dot = 0;
            for (int k = 0; k < width; k++) {
                dot += (double) a[k] * b[k];
                maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
            }
            minCos = Math.min(minCos, dot);
        }
        report.agreement.put("lowest cosine similarity", String.format(Locale.ROOT, "%.7f", minCos));
        report.agreement.put("largest absolute difference", String.format(Locale.ROOT, "%.2e", maxDiff));
        if (minCos < 0.9999) {
            throw new IllegalStateException("Backplane and the baseline disagree (cosine " + minCos
                    + "): they are not running the same model; the figures would mean nothing");
        }
    }

    /** How many batches make a round of about {@link #ROUND_SECONDS}, from warm-up runs. */
    private static int batchesPerRound(BatchEmbedder e, List<int[][]> work) throws Exception {
        long warm = System.nanoTime();
        int done = 0;
        do {
            e.embed(work.get(done++ % work.size()));
        } while (System.nanoTime() - warm < (long) (WARMUP_SECONDS * 1e9));
        long t = System.nanoTime();
        int runs = 0;
        do {
            e.embed(work.get(runs % work.size()));
            runs++;
        } while (System.nanoTime() - t < 200_000_000L);
        double each = (System.nanoTime() - t) / 1e9 / runs;
        return (int) Math.max(1, Math.round(ROUND_SECONDS / each));
    }

    /** Sentences per second over {@code n} batches. */
    private static double round(BatchEmbedder e, List<int[][]> work, int n, int batch) throws Exception {
        long t = System.nanoTime();
        for (int i = 0; i < n; i++) {
            e.embed(work.get(i % work.size()));
        }
        return (double) n * batch / ((System.nanoTime() - t) / 1e9);
    }

    static List<int[][]> batches(int[][] ids, int batch) {
        List<int[][]> out = new ArrayList<>();
        for (int from = 0; from + batch <= ids.length; from += batch) {
            out.add(Arrays.copyOfRange(ids, from, from + batch));
        }
        return out;
    }

    static Duration upload(Embedder embedder, ExecutionBackend backend) {
        long t = System.nanoTime();
        embedder.model().prepare(backend);
        return Duration.ofNanos(System.nanoTime() - t);
    }

    private static float[] flatten(List<float[]> vectors) {
        int width = vectors.getFirst().length;
        float[] flat = new float[vectors.size() * width];
        for (int i = 0; i < vectors.size(); i++) {
            System.arraycopy(vectors.get(i), 0, flat, i * width, width);
        }
        return flat;
    }

    /** The token ids as int64 [count, SEQ], padded with 0 (the pad id), for the PyTorch script. */
    private static void writeIds(Path file, int[][] ids) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ids.length * SEQ * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] row : ids) {
            for (int t = 0; t < SEQ; t++) {
                b.putLong(t < row.length ? row[t] : 0);
            }
        }
        Files.write(file, b.array());
    }

    private static float[] readFloats(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / Float.BYTES];
        b.asFloatBuffer().get(v);
        return v;
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    static void progress(String line) {
        System.err.println("[embeddings] " + line);
    }
}
