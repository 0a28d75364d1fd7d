package org.backplane.benchmarks;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cuda.CudaBackend;
import org.backplane.cuda.CudaSettings;
import org.backplane.testkit.encoder.EncoderLayer;
import org.backplane.testkit.encoder.EncoderWeights;

/**
 * Where an encoder layer's time goes, op by op: for each piece, the host time to queue it and the
 * time until it has run, per repetition (a diagnostic, not a benchmark of record).
 *
 * <pre>java ... org.backplane.benchmarks.EncoderProfile [cuda|cpu] [float32|bfloat16] [layer]</pre>
 *
 * <p>Batch 8 and sequence 128 unless {@code -Dbackplane.profile.batch} and {@code -Dbackplane.profile.seq}
 * say otherwise.
 */
public final class EncoderProfile {
    private EncoderProfile() {}

    public static void main(String[] args) throws Exception {
        String which = args.length > 0 ? args[0] : "cuda";
        DType type = args.length > 1 ? DType.parse(args[1]) : DType.FLOAT32;
        ExecutionBackend backend =
                which.equals("cpu") ? CpuBackend.start() : CudaBackend.start(CudaSettings.defaults());
        try {
            ComputeStream s = backend.openStream("profile");
            Random r = new Random(1);
            int b = Integer.getInteger("backplane.profile.batch", 8);
            int seq = Integer.getInteger("backplane.profile.seq", 128);
            String rows = "[" + b + "," + seq + ",";
            int h = 384;
            DeviceArray x = s.astype(s.upload(EncoderWeightsAccess.normal(r, b * seq * h), b, seq, h), type);
            DeviceArray w = s.astype(s.upload(EncoderWeightsAccess.normal(r, h * h), h, h), type);
            DeviceArray bias = s.astype(s.upload(EncoderWeightsAccess.normal(r, h), h), type);
            DeviceArray w1 = s.astype(s.upload(EncoderWeightsAccess.normal(r, h * 1536), h, 1536), type);
            DeviceArray wide = s.astype(s.upload(EncoderWeightsAccess.normal(r, b * seq * 1536), b, seq, 1536), type);
            DeviceArray heads = s.transpose(s.reshape(x, b, seq, 12, 32), 0, 2, 1, 3);
            DeviceArray q = s.add(heads, 0.0); // contiguous [8, 12, 128, 32]
            boolean[] keep = new boolean[b * seq];
            java.util.Arrays.fill(keep, true);
            DeviceArray mask = s.upload(keep, b, 1, 1, seq);
            EncoderLayer layer = new EncoderLayer(s, EncoderWeights.random(h, 12, 1536, 1), type);
            Map<String, Supplier<DeviceArray>> pieces = new LinkedHashMap<>();
            pieces.put("matmul " + rows + "384] x [384,384]", () -> s.matmul(x, w));
            pieces.put("matmul " + rows + "384] x [384,1536]", () -> s.matmul(x, w1));
            pieces.put("add bias (broadcast)", () -> s.add(x, bias));
            pieces.put("add same shape", () -> s.add(x, x));
            pieces.put("add scalar", () -> s.add(x, 1.0));
            pieces.put("gelu " + rows + "1536]", () -> s.gelu(wide));
            pieces.put("copy of heads view", () -> s.add(heads, 0.0));
            pieces.put("layerNorm", () -> s.layerNorm(x, bias, bias, 1e-12f));
            pieces.put("attention, no mask", () -> s.scaledDotProductAttention(q, q, q, null, 0.17f));
            pieces.put(
                    "attention, [" + b + ",1,1," + seq + "] mask",
                    () -> s.scaledDotProductAttention(q, q, q, mask, 0.17f));
            pieces.put("whole layer", () -> layer.forward(x, mask));
            if (args.length > 2 && args[2].equals("layer")) {
                pieces.keySet().removeIf(k -> !k.equals("whole layer"));
            }
            int reps = 200;
            System.out.printf(
                    Locale.ROOT,
                    "%-36s %12s %12s %12s%n",
                    "piece (" + which + ", " + type.id() + ")",
                    "queue us",
                    "total us",
                    "eval'd us");
            for (Map.Entry<String, Supplier<DeviceArray>> p : pieces.entrySet()) {
                // Warm up until the JIT has compiled the path (thousands of calls), not just the GPU.
                int warm = p.getKey().startsWith("whole") ? (args.length > 2 ? 3000 : 300) : 3000;
                for (int i = 0; i < warm; i++) {
                    DeviceArray a = p.getValue().get();
                    if (i % 50 == 0) {
                        s.eval(a);
                    }
                }
                s.synchronize();
                long t0 = System.nanoTime();
                DeviceArray last = null;
                for (int i = 0; i < reps; i++) {
                    last = p.getValue().get();
                }
                long queued = System.nanoTime();
                s.synchronize();
                long done = System.nanoTime();
                long t1 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    s.eval(p.getValue().get());
                }
                long evald = System.nanoTime();
                last.close();
                System.out.printf(
                        Locale.ROOT,
                        "%-36s %12.1f %12.1f %12.1f%n",
                        p.getKey(),
                        (queued - t0) / 1e3 / reps,
                        (done - t0) / 1e3 / reps,
                        (evald - t1) / 1e3 / reps);
            }
        } finally {
            ((AutoCloseable) backend).close();
        }
    }

    /** Random normal values (the weights' initialiser, reused). */
    static final class EncoderWeightsAccess {
        static float[] normal(Random r, int n) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (r.nextGaussian() * 0.05);
            }
            return v;
        }
    }
}
