package org.backplane.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;

/**
 * The workload that motivated Backplane: {@link #THREADS} threads, each on its own stream, each
 * running {@code iterations} {@link #N}x{@link #N} matmuls and waiting for every result. Shared by
 * the CPU and CUDA reports so that both measure the same thing.
 */
final class MotivatingScenario {
    static final int THREADS = 8;
    static final int ITERATIONS = 1000;
    static final int N = 512;

    private MotivatingScenario() {}

    /**
     * Seconds of wall time from releasing all threads together until the last one finished.
     *
     * @param closeResults close each result after {@code eval}, so a device frees its memory at once
     *     instead of when the array is collected
     */
    static double run(ExecutionBackend backend, int iterations, boolean closeResults) throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        List<Thread> threads = new ArrayList<>();
        List<ComputeStream> streams = new ArrayList<>();
        Throwable[] failure = new Throwable[1];
        try {
            for (int t = 0; t < THREADS; t++) {
                ComputeStream s = backend.openStream("scenario-" + t);
                streams.add(s);
                Random r = new Random(t);
                DeviceArray a = s.upload(MatmulBenchmark.random(r, N * N), N, N);
                DeviceArray b = s.upload(MatmulBenchmark.random(r, N * N), N, N);
                threads.add(Thread.ofPlatform().name("scenario-" + t).start(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < iterations; i++) {
                            DeviceArray c = s.matmul(a, b);
                            s.eval(c);
                            if (closeResults) {
                                c.close();
                            }
                        }
                    } catch (Throwable e) {
                        failure[0] = e;
                    }
                }));
            }
            start.await();
            long t0 = System.nanoTime();
            for (Thread t : threads) {
                t.join();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (failure[0] != null) {
                throw new IllegalStateException("scenario failed", failure[0]);
            }
            return seconds;
        } finally {
            streams.forEach(ComputeStream::close);
        }
    }
}
