package org.backplane.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.backplane.api.ComputeStream;
import org.backplane.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What a healthy stream pays for the contract on a call that does nothing else: {@code flush()} of
 * an idle stream is the error check (two volatile reads) plus taking and releasing the stream's
 * uncontended encode lock. The baseline takes and releases an uncontended lock, so the difference is
 * the check and the call, measured through the public API only.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EntryCheckBenchmark {
    private CpuBackend backend;
    private ComputeStream stream;
    private final ReentrantLock lock = new ReentrantLock();

    @Setup(Level.Trial)
    public void open() {
        backend = CpuBackend.start();
        stream = backend.openStream("entry-check");
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    @Benchmark
    public void baseline() {
        lock.lock();
        try {
            Blackhole.consumeCPU(0);
        } finally {
            lock.unlock();
        }
    }

    @Benchmark
    public void healthyEntryCheck() {
        stream.flush();
    }
}
