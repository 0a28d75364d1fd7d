package org.backplane.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** Float32 {@code n x n} matmul on the CPU backend: submit, compute and wait (like numpy's {@code a @ b}). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MatmulBenchmark {
    @Param({"256", "512", "1024", "2048"})
    public int n;

    private CpuBackend backend;
    private ComputeStream stream;
    private DeviceArray a;
    private DeviceArray b;

    @Setup(Level.Trial)
    public void open() {
        backend = CpuBackend.start();
        stream = backend.openStream("matmul");
        Random r = new Random(1);
        a = stream.upload(random(r, n * n), n, n);
        b = stream.upload(random(r, n * n), n, n);
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    /** The product is closed once computed, as numpy frees its result: its memory goes back to the pool. */
    @Benchmark
    public DeviceArray matmul() {
        DeviceArray c = stream.matmul(a, b);
        stream.eval(c);
        c.close();
        return c;
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat();
        }
        return v;
    }
}
