package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamOptions;
import org.backplane.api.fault.FaultRule;
import org.backplane.embeddings.EmbeddingException;
import org.backplane.embeddings.EmbeddingService;
import org.backplane.embeddings.internal.Embedder;
import org.backplane.embeddings.internal.EmbeddingDemo;
import org.backplane.embeddings.internal.ModelFiles;
import org.backplane.embeddings.internal.WorkerPool;
import org.backplane.testkit.embeddings.TestModel;
import org.junit.jupiter.api.Test;

/**
 * The real workload, sentence embeddings with all-MiniLM-L6-v2, on the backend under test: every
 * sentence of the corpus against ONNX Runtime's vector (cosine similarity at least
 * {@value #MIN_COSINE}, every component within {@value #MAX_DIFFERENCE}), in batches of 32 padded
 * to their longest sentence; and faults in the middle of the model on one of four worker streams.
 */
public abstract class EmbeddingConformanceTests extends ContractTestSupport {
    static final double MIN_COSINE = 0.99999;
    static final double MAX_DIFFERENCE = 1e-4;
    static final int BATCH = 32;

    private static Embedder embedder() {
        ModelFiles f = TestModel.files();
        return new Embedder(f.model(), f.tokenizer(), TestModel.MAX_LENGTH);
    }

    /**
     * Every how many sentences of the corpus to run: 1 (all of them) unless the backend under test is
     * too slow for that in a build (the Metal simulator runs each GPU thread as a CPU fiber).
     */
    protected int corpusStride() {
        return 1;
    }

    /** Sentences per worker in the fault scenario (four workers). */
    protected int sentencesPerWorker() {
        return 16;
    }

    /**
     * Whether to run the demo here (a dozen batches of the product's main job: too many for a slow
     * simulator, where the fault scenario checks the same recovery on fewer sentences).
     */
    protected boolean runsDemo() {
        return true;
    }

    /**
     * The quota scenario's size: short texts per call (three callers, two calls each), copies of a
     * 256-token text in the oversize call, and the worker streams' quota, which one short text fits
     * many times and the oversize batch's feed-forward activations alone exceed.
     */
    public record QuotaScenario(int shortTexts, int oversizeCopies, long quotaMiB) {}

    protected QuotaScenario quotaScenario() {
        return new QuotaScenario(8, 16, 32);
    }

    @Test
    void everySentenceOfTheCorpusMatchesOnnxRuntime() {
        List<String> sentences = TestModel.sentences();
        float[][] reference = TestModel.reference();
        assertThat(reference.length).as("reference vectors").isEqualTo(sentences.size());
        Embedder embedder = embedder();
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < sentences.size(); i += corpusStride()) {
            picked.add(i);
        }
        double worstCosine = 1;
        double worstDifference = 0;
        int worstAt = -1;
        try (ComputeStream s = backend.openStream("corpus")) {
            for (int from = 0; from < picked.size(); from += BATCH) {
                List<Integer> batch = picked.subList(from, Math.min(picked.size(), from + BATCH));
                List<float[]> vectors =
                        embedder.embed(s, batch.stream().map(sentences::get).toList());
                for (int j = 0; j < batch.size(); j++) {
                    float[] expected = reference[batch.get(j)];
                    float[] actual = vectors.get(j);
                    double cosine = EmbeddingService.similarity(expected, actual);
                    double difference = 0;
                    for (int k = 0; k < expected.length; k++) {
                        difference = Math.max(difference, Math.abs(expected[k] - actual[k]));
                    }
                    if (cosine < worstCosine || difference > worstDifference) {
                        worstAt = batch.get(j);
                    }
                    worstCosine = Math.min(worstCosine, cosine);
                    worstDifference = Math.max(worstDifference, difference);
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%s: %d sentences against ONNX Runtime: min cosine %.8f, max |difference| %.3g%n",
                fixture().name(),
                picked.size(),
                worstCosine,
                worstDifference);
        assertThat(worstCosine)
                .as(
                        "cosine similarity to ONNX Runtime (worst: sentence %d: %s)",
                        worstAt, worstAt < 0 ? "" : sentences.get(worstAt))
                .isGreaterThanOrEqualTo(MIN_COSINE);
        assertThat(worstDifference)
                .as("largest component difference from ONNX Runtime")
                .isLessThanOrEqualTo(MAX_DIFFERENCE);
    }

    @Test
    void aFaultMidModelOnOneOfFourWorkersLeavesTheOthersBitIdenticalAndThePoolRecoversIt() throws Exception {
        int per = sentencesPerWorker();
        List<String> sentences = TestModel.sentences().subList(0, 4 * per);
        Embedder embedder = embedder();
        List<List<String>> jobs = List.of(
                sentences.subList(0, per),
                sentences.subList(per, 2 * per),
                sentences.subList(2 * per, 3 * per),
                sentences.subList(3 * per, 4 * per));
        // Fault-free vectors of each job.
        List<List<float[]>> clean = new ArrayList<>();
        long opsPerJob;
        try (ComputeStream s = backend.openStream("fault-free")) {
            for (List<String> job : jobs) {
                clean.add(embedder.embed(s, job));
            }
            opsPerJob = s.snapshot().opsSubmitted() / jobs.size();
        }
        // Four workers embed their jobs at once; worker 2 meets a fault in the middle of the model.
        faults().schedule(FaultRule.atOp("embeddings-worker-2", opsPerJob / 2, ErrorKind.PAGE_FAULT));
        try (WorkerPool pool = new WorkerPool(() -> backend, embedder, 4, per)) {
            Map<Integer, List<float[]>> results = new ConcurrentHashMap<>();
            List<Throwable> problems = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < jobs.size(); i++) {
                int job = i;
                callers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        results.put(job, pool.embed(jobs.get(job)));
                    } catch (Throwable t) {
                        problems.add(t);
                    }
                }));
            }
            start.countDown();
            for (Thread t : callers) {
                t.join();
            }
            assertThat(problems)
                    .as("callers see correct vectors, never an error, when a reset recovers the batch")
                    .isEmpty();
            for (int i = 0; i < jobs.size(); i++) {
                assertThat(EmbeddingDemo.identical(clean.get(i), results.get(i)))
                        .as("job %d: bit-identical to the fault-free run", i)
                        .isTrue();
            }
            long[] counters = pool.counters();
            assertThat(counters[1])
                    .as("batches recovered by a reset and a second run")
                    .isGreaterThanOrEqualTo(1);
            assertThat(counters[2]).as("batches that failed twice").isZero();
        }
    }

    @Test
    void anOversizeBatchMeetsItsWorkersQuotaAndTheOtherWorkersStayExact() throws Exception {
        QuotaScenario size = quotaScenario();
        Embedder embedder = embedder();
        List<String> shortTexts = TestModel.sentences().subList(0, size.shortTexts());
        String longText = String.join(" ", Collections.nCopies(60, "the quick brown fox jumps"));
        List<String> oversize = Collections.nCopies(size.oversizeCopies(), longText); // 256 tokens each
        List<float[]> clean;
        try (ComputeStream s = backend.openStream("quota-fault-free")) {
            clean = embedder.embed(s, shortTexts);
        }
        StreamOptions quota = StreamOptions.DEFAULT.withMemoryQuota(size.quotaMiB() << 20);
        try (WorkerPool pool = new WorkerPool(() -> backend, embedder, 4, 16, quota)) {
            List<Throwable> problems = Collections.synchronizedList(new ArrayList<>());
            Map<Integer, List<float[]>> results = new ConcurrentHashMap<>();
            AtomicReference<Throwable> oversizeOutcome = new AtomicReference<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int job = i;
                callers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int round = 0; round < 2; round++) {
                            results.put(job * 2 + round, pool.embed(shortTexts));
                        }
                    } catch (Throwable t) {
                        problems.add(t);
                    }
                }));
            }
            callers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    pool.embed(oversize);
                } catch (Throwable t) {
                    oversizeOutcome.set(t);
                }
            }));
            start.countDown();
            for (Thread t : callers) {
                t.join();
            }
            assertThat(problems).as("the other callers never see an error").isEmpty();
            results.values()
                    .forEach(v -> assertThat(EmbeddingDemo.identical(clean, v))
                            .as("bit-identical to the fault-free run")
                            .isTrue());
            assertThat(oversizeOutcome.get())
                    .as("the oversize batch fails clearly, with its stream's OUT_OF_MEMORY")
                    .isInstanceOfSatisfying(EmbeddingException.class, e -> {
                        assertThat(e.error()).isNotNull();
                        assertThat(e.error().kind()).isEqualTo(ErrorKind.OUT_OF_MEMORY);
                        assertThat(e.error().message()).contains("quota");
                    });
            assertThat(pool.embed(shortTexts)).as("and the pool still serves").hasSize(shortTexts.size());
        }
    }

    @Test
    void theDemoOnTheRealWorkloadHolds() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                runsDemo(), "the demo is too long for " + fixture().name());
        Embedder embedder = embedder();
        try (WorkerPool pool = new WorkerPool(() -> backend, embedder, 4, 32)) {
            EmbeddingService service = new EmbeddingService() {
                @Override
                public int dimensions() {
                    return TestModel.DIMENSIONS;
                }

                @Override
                public String model() {
                    return embedder.model().name();
                }

                @Override
                public List<float[]> embed(List<String> texts) {
                    return pool.embed(texts);
                }
            };
            java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
            boolean ok = new EmbeddingDemo(backend, service, pool, new java.io.PrintStream(text, true, "UTF-8")).run();
            assertThat(ok)
                    .as(text.toString(java.nio.charset.StandardCharsets.UTF_8))
                    .isTrue();
            assertThat(text.toString(java.nio.charset.StandardCharsets.UTF_8))
                    .contains("Demo passed")
                    .contains("1 recovered");
        }
    }
}
