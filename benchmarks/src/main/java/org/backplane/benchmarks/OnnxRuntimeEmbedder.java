package org.backplane.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.LongBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.cpu.CpuBackend;
import org.backplane.embeddings.internal.Embedder;
import org.backplane.testkit.embeddings.TestModel;

/**
 * The CPU baseline: ONNX Runtime runs the same .onnx file on padded token ids; mean pooling over the
 * mask and L2 normalisation in Java, as Backplane's pipeline does them on its stream.
 */
final class OnnxRuntimeEmbedder implements EmbeddingReport.BatchEmbedder, AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Duration loadTime;

    private OnnxRuntimeEmbedder(byte[] model, int threads) throws OrtException {
        long start = System.nanoTime();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        this.session = env.createSession(model, options);
        this.loadTime = Duration.ofNanos(System.nanoTime() - start);
    }

    static OnnxRuntimeEmbedder open(String location, int threads) throws IOException, OrtException {
        return new OnnxRuntimeEmbedder(ModelBytes.onnx(location), threads);
    }

    String version() {
        return env.getVersion();
    }

    Duration loadTime() {
        return loadTime;
    }

    @Override
    public List<float[]> embed(int[][] ids) throws OrtException {
        int batch = ids.length;
        int seq = EmbeddingReport.SEQ;
        long[] tokens = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ids[b].length; t++) {
                tokens[b * seq + t] = ids[b][t];
                mask[b * seq + t] = 1;
            }
        }
        long[] shape = {batch, seq};
        try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(tokens), shape);
                OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                OnnxTensor y = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape);
                OrtSession.Result r = session.run(Map.of("input_ids", t, "attention_mask", m, "token_type_ids", y))) {
            float[][][] hidden = (float[][][]) r.get(0).getValue();
            List<float[]> out = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                int width = hidden[b][0].length;
                float[] mean = new float[width];
                int count = ids[b].length;
                for (int tok = 0; tok < count; tok++) {
                    for (int k = 0; k < width; k++) {
                        mean[k] += hidden[b][tok][k];
                    }
                }
                double norm = 0;
                for (int k = 0; k < width; k++) {
                    mean[k] /= count;
                    norm += (double) mean[k] * mean[k];
                }
                float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
                for (int k = 0; k < width; k++) {
                    mean[k] *= scale;
                }
                out.add(mean);
            }
            return out;
        }
    }

    /** Backplane's CPU backend against ONNX Runtime, alternating round by round (this class is loaded only here). */
    static EmbeddingReport.Report compare(Embedder embedder, int[][] ids) throws Exception {
        EmbeddingReport.Report report = new EmbeddingReport.Report();
        report.command = "benchmarks/run-embeddings-cpu.sh";
        int threads = Runtime.getRuntime().availableProcessors();
        try (CpuBackend cpu = CpuBackend.start();
                ComputeStream s = cpu.openStream("embeddings-benchmark");
                OnnxRuntimeEmbedder ort = OnnxRuntimeEmbedder.open(TestModel.location(), threads)) {
            report.device = cpu.device().name() + " " + cpu.device().details();
            report.baselineName = "ONNX Runtime";
            report.baseline = "ONNX Runtime " + ort.version() + " (Java API, CPU execution provider, " + threads
                    + " intra-op threads, all graph optimisations), the same .onnx file";
            report.baselineLoad = String.format(
                    Locale.ROOT,
                    "%.2f s to create the ONNX Runtime session from the file",
                    EmbeddingReport.seconds(ort.loadTime()));
            report.upload = EmbeddingReport.upload(embedder, cpu);
            EmbeddingReport.compare(report, (b) -> embedder.embedPadded(s, b, EmbeddingReport.SEQ), ort, ids);
        }
        return report;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
