package org.backplane.embeddings.internal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamSnapshot;
import org.backplane.api.StreamState;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.embeddings.EmbeddingService;

/**
 * The stream error contract on a real workload: four streams embed sentences with the encoder at
 * once; a fault is injected into the middle of the model on one of them. The other three produce
 * exactly the fault-free vectors, the failed stream reports its error once and then refuses work, a
 * reset brings it back to exact results, and the worker pool behind the embedding service recovers
 * a faulted batch by itself.
 */
public final class EmbeddingDemo {
    static final int STREAMS = 4;
    static final int FAULTY = 2;
    static final List<String> SENTENCES = List.of(
            "A cat sits on the mat.",
            "A kitten is sitting on a rug.",
            "The stock market fell sharply today.",
            "Shares dropped as investors worried about rates.",
            "How do I reset a poisoned stream?",
            "Reset the stream to use it again.",
            "The GPU reported an illegal memory access.",
            "Java runs inside the Karaf container.",
            "It is raining in Paris this morning.",
            "Bring an umbrella, showers are expected.",
            "The recipe needs two eggs and a cup of flour.",
            "Whisk the eggs before adding the flour.",
            "The train to Berlin leaves at nine.",
            "Our flight was delayed by two hours.",
            "She plays the violin in an orchestra.",
            "The concert was sold out weeks ago.",
            "Photosynthesis turns light into chemical energy.",
            "Plants need sunlight and water to grow.",
            "The server returned a 500 error.",
            "The database connection timed out.",
            "He scored the winning goal in extra time.",
            "The match ended in a draw.",
            "Mount Everest is the highest mountain on Earth.",
            "K2 is the second highest peak.",
            "Please close the door when you leave.",
            "Remember to turn off the lights.",
            "Quantum computers use qubits.",
            "Classical bits are either zero or one.",
            "The museum opens at ten on Sundays.",
            "Entry to the gallery is free.",
            "Add a pinch of salt to the soup.",
            "The soup tastes better with fresh herbs.");

    private final ExecutionBackend backend;
    private final FaultInjector faults;
    private final Embedder embedder;
    private final EmbeddingService service;
    private final WorkerPool pool;
    private final PrintStream out;

    /**
     * @throws IllegalArgumentException if the backend's fault injection is off, saying how to enable it
     */
    public EmbeddingDemo(ExecutionBackend backend, EmbeddingService service, WorkerPool pool, PrintStream out) {
        this.backend = backend;
        this.faults = FaultInjector.of(backend)
                .orElseThrow(
                        () -> new IllegalArgumentException(
                                "the demo injects a fault, but fault injection is off on "
                                        + "backend '" + backend.id()
                                        + "'. Enable it in the backend's configuration (for the CPU "
                                        + "backend: config:property-set -p org.backplane.backend.cpu faultInjection.enabled true)"));
        this.embedder = pool.embedder();
        this.service = service;
        this.pool = pool;
        this.out = out;
    }

    private List<String> batch(int i) {
        int per = SENTENCES.size() / STREAMS;
        return SENTENCES.subList(i * per, (i + 1) * per);
    }

    /** Runs the demo; true if every step behaved as the contract says. */
    public boolean run() {
        boolean ok = true;
        out.printf(
                "Backplane demo on backend '%s': %s%n",
                backend.id(), backend.device().name());
        out.printf(
                "  model %s: %d streams, each embedding %d sentences (tokenize, 6-layer encoder, mean pooling)%n%n",
                service.model(), STREAMS, SENTENCES.size() / STREAMS);

        out.println("1. Fault-free reference run");
        List<List<float[]>> reference = new ArrayList<>();
        long opsPerBatch = 0;
        for (int i = 0; i < STREAMS; i++) {
            try (ComputeStream s = backend.openStream("demo-reference-" + i)) {
                reference.add(embedder.embed(s, batch(i)));
                opsPerBatch = s.snapshot().opsSubmitted();
            }
        }
        out.printf("   %d batches embedded, %d ops each on the stream%n", STREAMS, opsPerBatch);
        out.printf(
                Locale.ROOT,
                "   similarity('%s', '%s') = %.3f%n",
                SENTENCES.get(0),
                SENTENCES.get(1),
                EmbeddingService.similarity(
                        reference.get(0).get(0), reference.get(0).get(1)));
        out.printf(
                Locale.ROOT,
                "   similarity('%s', '%s') = %.3f%n%n",
                SENTENCES.get(0),
                SENTENCES.get(2),
                EmbeddingService.similarity(
                        reference.get(0).get(0), reference.get(0).get(2)));

        List<ComputeStream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(backend.openStream("demo-" + i));
        }
        long faultyOp = Math.max(1, opsPerBatch / 2);
        ComputeStream faulty = streams.get(FAULTY);
        out.printf(
                "2. The same run with a PAGE_FAULT injected into op %d of %d (mid-model) on stream demo-%d (%s)%n",
                faultyOp, opsPerBatch, FAULTY, faulty.id());
        faults.schedule(FaultRule.atOp(faulty.id().toString(), faultyOp, ErrorKind.PAGE_FAULT)
                .withNativeCode(3)
                .withMessage("injected by the demo"));
        StreamFailedException report = null;
        for (int i = 0; i < STREAMS; i++) {
            try {
                List<float[]> v = embedder.embed(streams.get(i), batch(i));
                boolean same = identical(reference.get(i), v);
                ok &= check(
                        same && i != FAULTY,
                        "stream demo-%d: vectors bit-identical to the fault-free run".formatted(i));
            } catch (StreamFailedException e) {
                report = e;
                ok &= check(i == FAULTY, "stream demo-%d: the fault is reported to its caller".formatted(i));
            }
        }
        if (report != null) {
            out.printf("   reported once: %s%n", report.error().describe());
        }
        try {
            embedder.embed(faulty, batch(FAULTY));
            ok &= check(false, "the next call on the failed stream is refused");
        } catch (StreamPoisonedException e) {
            ok &= check(true, "the next call on the failed stream is refused (StreamPoisonedException)");
        }
        StreamSnapshot poisoned = faulty.snapshot();
        ok &= check(
                poisoned.state() == StreamState.POISONED
                        && streams.stream()
                                .filter(s -> s != faulty)
                                .allMatch(s -> s.snapshot().state() == StreamState.ACTIVE),
                "the failed stream is POISONED, the other three ACTIVE");

        out.printf("%n3. Reset of %s%n", faulty.id());
        backend.reset(faulty.id());
        ok &= check(
                faulty.snapshot().state() == StreamState.ACTIVE,
                "ACTIVE again, generation %d".formatted(faulty.snapshot().generation()));
        ok &= check(
                identical(reference.get(FAULTY), embedder.embed(faulty, batch(FAULTY))),
                "its batch embedded again: bit-identical to the fault-free run");

        out.println();
        out.println("4. The embedding service's worker pool, with a fault injected into one of its workers");
        // The fault-free vectors batched as the service batches them (by length): the same sentence
        // padded to another length may differ in the last bits (other kernels for other shapes).
        float[][] expectedByText = new float[SENTENCES.size()][];
        int[][] ids = embedder.tokenize(SENTENCES);
        try (ComputeStream s = backend.openStream("demo-reference-service")) {
            for (int[] batch : pool.batches(ids)) {
                int[][] tokens = new int[batch.length][];
                for (int j = 0; j < batch.length; j++) {
                    tokens[j] = ids[batch[j]];
                }
                List<float[]> v = embedder.embedTokens(s, tokens);
                for (int j = 0; j < batch.length; j++) {
                    expectedByText[batch[j]] = v.get(j);
                }
            }
        }
        List<float[]> expected = List.of(expectedByText);
        long[] before = pool.counters();
        // Armed on every worker (whichever runs the batch meets it mid-model), removed afterwards.
        List<FaultRule> armed = new ArrayList<>();
        for (int w = 0; w < pool.workers(); w++) {
            String label = "embeddings-worker-" + w;
            long done = pool.streams().stream()
                    .filter(s -> s.label().equals(label))
                    .mapToLong(s -> s.snapshot().opsSubmitted())
                    .findFirst()
                    .orElse(0);
            FaultRule rule = FaultRule.atOp(label, done + faultyOp, ErrorKind.PAGE_FAULT)
                    .withMessage("injected by the demo into a worker");
            faults.schedule(rule);
            armed.add(rule);
        }
        List<float[]> served;
        try {
            served = service.embed(SENTENCES);
        } finally {
            armed.forEach(faults::remove);
        }
        long[] after = pool.counters();
        ok &= check(
                identical(expected, served),
                "the service returned the fault-free vectors for all %d sentences".formatted(SENTENCES.size()));
        out.printf(
                "   worker pool: %d batches, %d recovered by a reset and a second run, %d failed%n",
                after[0] - before[0], after[1] - before[1], after[2] - before[2]);
        for (ComputeStream s : streams) {
            s.close();
        }
        out.println();
        out.println(
                ok
                        ? "Demo passed: the fault stayed in its stream, was reported once, and reset recovered it."
                        : "Demo FAILED: see the steps marked FAIL above.");
        return ok;
    }

    private boolean check(boolean holds, String what) {
        out.printf("   %s %s%n", holds ? "ok  " : "FAIL", what);
        return holds;
    }

    /** Whether two lists of vectors are the same bits. */
    public static boolean identical(List<float[]> a, List<float[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }
}
