package org.backplane.embeddings;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Sentence embeddings: each text becomes a unit-length vector (mean-pooled over its tokens, L2
 * normalised), so that the dot product of two vectors is their cosine similarity. Thread-safe:
 * concurrent callers share a pool of worker streams on the selected backend.
 *
 * <p>A GPU fault during a batch poisons only the worker stream that ran it; the service resets that
 * stream and runs the batch again. A caller gets correct vectors or an {@link EmbeddingException}
 * that carries the stream's error — never a wrong vector.
 */
@ProviderType
public interface EmbeddingService {
    /** Length of every vector. */
    int dimensions();

    /** The model's name, as its file names it. */
    String model();

    /** The vector of one text. */
    default float[] embed(String text) {
        return embed(List.of(text)).getFirst();
    }

    /**
     * The vectors of many texts, in order, computed in batches (each padded to its longest text;
     * texts longer than the configured maximum are truncated).
     *
     * @throws EmbeddingException if a batch failed again after its stream was reset, or the backend
     *     stopped
     */
    List<float[]> embed(List<String> texts);

    /** The cosine similarity of two vectors this service made (their dot product). */
    static double similarity(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of " + a.length + " and " + b.length + " dimensions");
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
