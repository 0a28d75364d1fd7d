package org.backplane.spi;

import java.util.concurrent.TimeUnit;
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

/**
 * The healthy-path cost of the error check every submission makes ({@code StreamCore.enter}),
 * against a baseline that reads a plain field of the same stream. Lives in the SPI's package to
 * reach the package-private check without widening the API.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EntryCheckBenchmark {
    private CpuBackend backend;
    private StreamCore stream;

    @Setup(Level.Trial)
    public void open() {
        backend = CpuBackend.start();
        stream = (StreamCore) backend.openStream("entry-check");
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    @Benchmark
    public Object baseline() {
        return stream;
    }

    @Benchmark
    public Object healthyEntryCheck() {
        return stream.enter();
    }
}
