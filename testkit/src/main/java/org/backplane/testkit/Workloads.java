package org.backplane.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;

/** Deterministic workloads the contract tests run on streams. */
public final class Workloads {
    private Workloads() {}

    /**
     * Queues {@code steps} dependent ops ({@code x = tanh(x @ w)}, values stay bounded) without
     * waiting, and returns every intermediate array. Enough steps keep a stream busy for a while.
     */
    public static List<DeviceArray> chain(ComputeStream s, long seed, int size, int steps) {
        Random r = new Random(seed);
        DeviceArray w = s.upload(scaled(r, size * size, 1.0f / size), size, size);
        DeviceArray x = s.upload(scaled(r, size * size, 1.0f), size, size);
        List<DeviceArray> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            x = (i % 2 == 0) ? s.matmul(x, w) : s.tanh(x);
            out.add(x);
        }
        return out;
    }

    /** Like {@link #chain} but keeps only the last array, so long chains need little memory. */
    public static DeviceArray busy(ComputeStream s, long seed, int size, int steps) {
        Random r = new Random(seed);
        DeviceArray w = s.upload(scaled(r, size * size, 1.0f / size), size, size);
        DeviceArray x = s.upload(scaled(r, size * size, 1.0f), size, size);
        for (int i = 0; i < steps; i++) {
            x = (i % 2 == 0) ? s.matmul(x, w) : s.tanh(x);
        }
        return x;
    }

    /**
     * A small program mixing every kind of op; returns its final arrays' data. Same seed, same
     * backend: same bits.
     */
    public static List<float[]> mixed(ComputeStream s, long seed) {
        Random r = new Random(seed);
        DeviceArray a = s.upload(scaled(r, 48 * 32, 1f), 48, 32);
        DeviceArray b = s.upload(scaled(r, 32 * 40, 0.2f), 32, 40);
        DeviceArray bias = s.upload(scaled(r, 40, 1f), 40);
        DeviceArray h = s.relu(s.add(s.matmul(a, b), bias));
        DeviceArray p = s.softmax(s.mul(h, s.full(0.5f, 1)));
        DeviceArray t = s.transpose(p);
        DeviceArray m = s.max(s.exp(s.neg(t)), 1);
        DeviceArray mean = s.mean(s.sqrt(s.abs(s.sub(h, s.sigmoid(h)))), 0);
        DeviceArray total = s.sum(s.log(s.add(s.abs(p), s.full(1f))));
        return List.of(
                m.download(),
                mean.download(),
                total.download(),
                s.div(s.minimum(h, p), s.maximum(p, s.full(1f, 1))).download());
    }

    /** Values {@code scale * [-1, 1)}. */
    public static float[] scaled(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (r.nextFloat() * 2 - 1) * scale;
        }
        return v;
    }
}
