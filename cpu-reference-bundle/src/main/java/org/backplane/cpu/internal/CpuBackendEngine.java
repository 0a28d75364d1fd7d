package org.backplane.cpu.internal;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.cpu.internal.blas.OpenBlas;
import org.backplane.cpu.internal.kernels.FastKernels;
import org.backplane.cpu.internal.kernels.Parallel;
import org.backplane.cpu.internal.memory.HostMemory;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.StreamEngine;
import org.backplane.spi.StreamSink;

/**
 * The CPU backend's device level: the arrays' native memory ({@link HostMemory}), the compute pool
 * that large kernels are split over, and the kernel path. Each stream gets its own worker thread
 * ({@link CpuStreamEngine}), which also computes part of every kernel it runs, so the pool has one
 * thread fewer than the configured parallelism.
 */
final class CpuBackendEngine implements BackendEngine {
    private static final System.Logger LOG = System.getLogger(CpuBackendEngine.class.getName());

    /** The least time the compute threads are given to end at stop. */
    private static final Duration JOIN_FLOOR = Duration.ofSeconds(2);

    private final ThreadPoolExecutor pool;
    /** The pool's threads, joined at stop: a terminated pool may still have a thread leaving its loop. */
    private final Set<Thread> poolThreads = ConcurrentHashMap.newKeySet();
    /** Stream worker threads alive now. */
    private final AtomicInteger workers = new AtomicInteger();

    private final CpuOps lowering;
    private final String simd;
    private final String products;
    /** Null where OpenBLAS did not load, or for the scalar and reference paths. */
    private final OpenBlas blas;

    private final HostMemory memory;

    /**
     * @param parallelism threads one kernel may use, the stream's worker included (at least 1)
     * @param kernelPath {@code fast}, {@code scalar} or {@code reference} (see {@code CpuSettings})
     * @param memoryBytes what the arrays may hold in all (the backend's "device" memory)
     */
    CpuBackendEngine(int parallelism, String kernelPath, long memoryBytes) {
        this.memory = new HostMemory(memoryBytes);
        int helpers = Math.max(0, parallelism - 1);
        AtomicInteger n = new AtomicInteger();
        this.pool = helpers == 0
                ? null
                : new ThreadPoolExecutor(helpers, helpers, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = Thread.ofPlatform()
                            .daemon()
                            .name("backplane-cpu-compute-" + n.incrementAndGet())
                            .unstarted(r);
                    poolThreads.add(t);
                    return t;
                });
        Parallel parallel = new Parallel(pool, helpers);
        if (kernelPath.equals("reference")) {
            this.blas = null;
            this.lowering = new ReferenceLowering();
            this.simd = "none (reference kernels)";
            this.products = "the float64 reference";
        } else {
            this.blas = kernelPath.equals("fast") ? loadBlas() : null;
            FastKernels fast = FastKernels.create(parallel, kernelPath.equals("fast"), blas);
            this.lowering = new CpuLowering(fast);
            this.simd = fast.simdDescription();
            this.products = fast.productsDescription();
        }
    }

    /** OpenBLAS for the matrix products where it loads; said once, loudly, where it does not. */
    private static OpenBlas loadBlas() {
        try {
            OpenBlas b = OpenBlas.load(CpuBackendEngine.class.getClassLoader());
            LOG.log(System.Logger.Level.INFO, () -> "CPU backend: matrix products run on " + b.description());
            return b;
        } catch (OpenBlas.Unavailable e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "CPU BACKEND WITHOUT NATIVE BLAS: " + e.getMessage()
                            + ". Matrix products run on Backplane's Java kernels instead, about a third of the speed.");
            return null;
        }
    }

    /** Which implementation computes matrix products. */
    String products() {
        return products;
    }

    /** The kernel path that computes ops. */
    CpuOps kernels() {
        return lowering;
    }

    /** Where arrays live. */
    String memory() {
        return memory.description();
    }

    /** Which SIMD implementation the fast kernels use. */
    String simd() {
        return simd;
    }

    @Override
    public StreamEngine openStream(StreamSink sink) {
        return new CpuStreamEngine(sink, lowering, memory, workers);
    }

    /** A worker thread per open stream, and the compute pool's threads. */
    @Override
    public int threads() {
        return workers.get() + (pool == null ? 0 : pool.getPoolSize());
    }

    /**
     * The CPU "device" is the host itself: an (injected) device loss is recovered by resetting the
     * streams; nothing device-wide needs rebuilding.
     */
    @Override
    public boolean canRebuildDevice() {
        return true;
    }

    @Override
    public void rebuildDevice() {
        // nothing device-wide holds state that a loss could corrupt
    }

    /** Freed blocks kept for reuse. */
    @Override
    public long pooledBytes() {
        memory.drain();
        return memory.pooled();
    }

    @Override
    public void shutdown(Duration timeout) {
        try {
            stopPool(timeout);
        } finally {
            memory.close(); // after the threads that could still use a pooled block
            if (blas != null) {
                blas.close(); // nothing calls it any more
            }
        }
    }

    private void stopPool(Duration timeout) {
        if (pool == null) {
            return;
        }
        pool.shutdownNow();
        // The streams were closed first, so every running chunk was cancelled and ends within
        // milliseconds; these are our threads (S11), so they are joined even when the stop's grace
        // was spent on the streams.
        long deadline = System.nanoTime() + Math.max(JOIN_FLOOR.toNanos(), timeout.toNanos());
        try {
            if (!pool.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "CPU compute threads did not stop within the stop's grace");
                return;
            }
            // Terminated means every worker has left the pool, not that its thread has ended.
            for (Thread t : poolThreads) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    LOG.log(System.Logger.Level.WARNING, "CPU compute thread " + t.getName() + " did not end in time");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The compute pool, for tests that check threads are gone after stop. */
    ExecutorService pool() {
        return pool;
    }
}
