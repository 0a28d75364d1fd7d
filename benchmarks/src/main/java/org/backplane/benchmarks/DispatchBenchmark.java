package org.backplane.benchmarks;

import java.util.concurrent.TimeUnit;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** Small-op dispatch: 1,000 adds of 1,000 elements queued on one stream, end to end (synchronize). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DispatchBenchmark {
    static final int OPS = 1000;

    private CpuBackend backend;
    private ComputeStream stream;
    private DeviceArray x;
    private DeviceArray y;

    @Setup(Level.Trial)
    public void open() {
        backend = CpuBackend.start();
        stream = backend.openStream("dispatch");
        x = stream.upload(new float[1000], 1000);
        y = stream.upload(new float[1000], 1000);
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    /**
     * Each result closed as soon as it is queued, as a host that is done with it does: its memory goes
     * back to the pool when the op has run, and the next op reuses it (no allocation per op).
     */
    @Benchmark
    @OperationsPerInvocation(OPS)
    public void queuedAdds() {
        for (int i = 0; i < OPS; i++) {
            stream.add(x, y).close();
        }
        stream.synchronize();
    }

    /** Results dropped without close: their memory comes back only when the collector finds them. */
    @Benchmark
    @OperationsPerInvocation(OPS)
    public void queuedAddsDropped() {
        for (int i = 0; i < OPS; i++) {
            stream.add(x, y);
        }
        stream.synchronize();
    }
}
