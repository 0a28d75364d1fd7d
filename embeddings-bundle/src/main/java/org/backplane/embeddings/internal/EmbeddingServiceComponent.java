package org.backplane.embeddings.internal;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ActiveBackend;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamOptions;
import org.backplane.embeddings.EmbeddingService;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@link EmbeddingService}: the model read once at activation (its weights uploaded once per
 * backend), a pool of worker streams on the backend it is bound to — by default whichever backend
 * the runtime selects, followed across switches without a restart ({@code backend} names a
 * particular one instead). Configuration changes re-activate it.
 */
@Designate(ocd = EmbeddingServiceComponent.Config.class)
@Component(
        service = {EmbeddingService.class, EmbeddingServiceComponent.class},
        configurationPid = EmbeddingServiceComponent.PID,
        immediate = true) // a model that cannot be read is reported at start, and its commands stay away
public final class EmbeddingServiceComponent implements EmbeddingService {
    static final String PID = "org.backplane.embeddings";
    /** Framework property with the model's location when the configuration names none (the launcher sets it). */
    static final String MODEL_PROPERTY = "backplane.embeddings.model";

    @ObjectClassDefinition(
            name = "Backplane embeddings",
            description = "Sentence embeddings (all-MiniLM-L6-v2 by default) on a Backplane backend")
    @interface Config {
        @AttributeDefinition(
                description =
                        "Where the model is: a path or URL (file:, jar:, or mvn: in Karaf) of a jar or zip holding "
                                + "one *.onnx and one *tokenizer*.json, or of an .onnx file. Empty: the framework property "
                                + MODEL_PROPERTY)
        String model() default "";

        @AttributeDefinition(description = "The tokenizer.json, when the model is an .onnx file without one beside it")
        String tokenizer() default "";

        @AttributeDefinition(description = "Worker streams: batches embedded at once")
        int workers() default 4;

        @AttributeDefinition(description = "Texts per batch")
        int batchSize() default 32;

        @AttributeDefinition(
                description = "Tokens per text at most, [CLS] and [SEP] included; longer texts are truncated")
        int maxLength() default 256;

        @AttributeDefinition(
                description = "What one worker stream's arrays may hold, in MiB, so that one oversize batch "
                        + "meets its own limit instead of taking the memory the other workers need; 0: the "
                        + "backend's stream quota")
        long workerQuotaMiB() default 0;

        @AttributeDefinition(
                description = "Which backend: empty to follow the runtime's selection (ActiveBackend) across switches, "
                        + "or a backend id (cpu, cuda, metal) to stay on that one")
        String backend() default "";
    }

    /** The runtime's selection, followed across switches. */
    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ActiveBackend active;

    /** Every registered backend by id, for a configured {@code backend}. */
    private final Map<String, ExecutionBackend> byId = new ConcurrentHashMap<>();

    private final String preferred;

    private final ModelFiles files;
    private final WorkerPool pool;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addBackend(ExecutionBackend b, Map<String, Object> properties) {
        Object id = properties.get(ExecutionBackend.BACKEND_ID);
        if (id != null) {
            byId.put(id.toString(), b);
        }
    }

    void removeBackend(ExecutionBackend b, Map<String, Object> properties) {
        byId.values().remove(b);
    }

    @Activate
    public EmbeddingServiceComponent(Config config, BundleContext context) throws IOException {
        this.preferred = config.backend().trim();
        String location = config.model().isBlank() ? context.getProperty(MODEL_PROPERTY) : config.model();
        this.files = ModelFiles.open(location, config.tokenizer(), config.maxLength());
        Embedder embedder = new Embedder(files.model(), files.tokenizer(), config.maxLength());
        this.pool = new WorkerPool(
                this::backend,
                embedder,
                config.workers(),
                config.batchSize(),
                StreamOptions.DEFAULT.withMemoryQuota(config.workerQuotaMiB() << 20));
    }

    @Deactivate
    void deactivate() {
        pool.close();
        files.model().close();
    }

    @Override
    public int dimensions() {
        int known = pool.embedder().dimensions();
        return known > 0 ? known : pool.embed(List.of("")).getFirst().length; // learnt from one run
    }

    @Override
    public String model() {
        return files.model().name();
    }

    @Override
    public List<float[]> embed(List<String> texts) {
        return pool.embed(texts);
    }

    WorkerPool pool() {
        return pool;
    }

    /** The backend batches run on: the configured one, or the runtime's selection. */
    ExecutionBackend backend() {
        return preferred.isEmpty() ? active : byId.get(preferred);
    }
}
