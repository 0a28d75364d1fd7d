package org.backplane.embeddings.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.backplane.api.ExecutionBackend;
import org.backplane.embeddings.EmbeddingService;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Console commands of the embeddings bundle ({@code backplane:embed}, {@code backplane:similar},
 * {@code backplane:demo}), registered through {@code osgi.command.*} properties. Output goes to
 * {@code System.out}; failures are thrown (a non-zero exit status over SSH).
 */
@Component(
        service = EmbeddingCommands.class,
        property = {
            "osgi.command.scope=backplane",
            "osgi.command.function=embed",
            "osgi.command.function=similar",
            "osgi.command.function=demo"
        })
public final class EmbeddingCommands {
    @Reference
    private EmbeddingServiceComponent service;

    /**
     * {@code backplane:embed <text>...}: one text prints its vector's dimensions and first values;
     * two or more print their cosine similarities, pair by pair.
     */
    public void embed(String... texts) {
        if (texts.length == 0) {
            throw new IllegalArgumentException("usage: backplane:embed <text> [<text>...]");
        }
        long start = System.nanoTime();
        List<float[]> v = service.embed(Arrays.asList(texts));
        double ms = (System.nanoTime() - start) / 1e6;
        System.out.printf(
                Locale.ROOT,
                "%d text(s), %d dimensions, model %s, %.0f ms%n",
                texts.length,
                service.dimensions(),
                service.model(),
                ms);
        if (texts.length == 1) {
            float[] x = v.getFirst();
            StringBuilder first = new StringBuilder();
            for (int i = 0; i < Math.min(8, x.length); i++) {
                first.append(String.format(Locale.ROOT, " %.5f", x[i]));
            }
            System.out.println("first values:" + first + " ...");
            return;
        }
        for (int i = 0; i < texts.length; i++) {
            for (int j = i + 1; j < texts.length; j++) {
                System.out.printf(
                        Locale.ROOT,
                        "%.4f  \"%s\"  ~  \"%s\"%n",
                        EmbeddingService.similarity(v.get(i), v.get(j)),
                        texts[i],
                        texts[j]);
            }
        }
    }

    /** {@code backplane:similar <query> <candidate>...}: the candidates ranked by similarity to the query. */
    public void similar(String query, String... candidates) {
        if (candidates.length == 0) {
            throw new IllegalArgumentException("usage: backplane:similar <query> <candidate> [<candidate>...]");
        }
        List<String> all = new ArrayList<>();
        all.add(query);
        all.addAll(Arrays.asList(candidates));
        List<float[]> v = service.embed(all);
        Integer[] order = new Integer[candidates.length];
        double[] score = new double[candidates.length];
        for (int i = 0; i < candidates.length; i++) {
            order[i] = i;
            score[i] = EmbeddingService.similarity(v.getFirst(), v.get(i + 1));
        }
        Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
        System.out.println("most similar to \"" + query + "\":");
        for (int rank = 0; rank < order.length; rank++) {
            System.out.printf(Locale.ROOT, "%2d. %.4f  %s%n", rank + 1, score[order[rank]], candidates[order[rank]]);
        }
    }

    /**
     * {@code backplane:demo}: the stream error contract on the real workload (see {@link EmbeddingDemo}).
     * Fails if the contract did not hold.
     */
    public void demo() {
        ExecutionBackend backend = service.backend();
        if (backend == null) {
            throw new IllegalStateException("no backend is active");
        }
        if (!new EmbeddingDemo(backend, service, service.pool(), System.out).run()) {
            throw new IllegalStateException("the demo found the stream error contract broken (see the steps above)");
        }
    }
}
