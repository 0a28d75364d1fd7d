package org.backplane.cuda.internal;

import java.lang.foreign.MemorySegment;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;
import org.backplane.spi.device.BroadcastGeometry;
import org.backplane.spi.device.KernelOps;
import org.backplane.spi.device.MatmulGeometry;
import org.backplane.spi.device.ReductionGeometry;
import org.backplane.spi.device.TransposeGeometry;

/**
 * Each op of the CUDA backend, lowered onto a kernel of {@code backplane_kernels.cu} or cuBLAS: one
 * case per op. Launches go onto the stream the caller passes; one instance per stream engine, used
 * under the stream's encode lock.
 */
final class CudaLowering {
    private static final int THREADS = 256;
    /** Rows at least this long, when there are few of them, are reduced in two passes. */
    private static final long SPLIT_REDUCTION = 1 << 17;

    private static final long MAX_CHUNKS = 2048;

    /** Stream-ordered scratch memory for ops that need some (freed on the same stream right after). */
    interface Scratch {
        DeviceBuffer allocate(long bytes, MemorySegment stream);
    }

    private final CudaDevice dev;
    private final Launcher launcher;
    private final MemorySegment cublasHandle;
    private final Scratch scratch;

    /** @param cublasHandle the stream engine's cuBLAS handle, or null where cuBLAS is missing */
    CudaLowering(CudaDevice dev, Launcher launcher, MemorySegment cublasHandle, Scratch scratch) {
        this.dev = dev;
        this.launcher = launcher;
        this.cublasHandle = cublasHandle;
        this.scratch = scratch;
    }

    /** Launches command {@code c}'s kernels, writing its output at device address {@code out}. */
    void lower(Command c, long out, MemorySegment stream) {
        long n = c.output().size();
        switch (c.op()) {
            case Op.Fill f ->
                elementwise(
                        "bp_fill", n, launcher.begin().ptr(out).f32(f.value()).i64(n), stream);
            case Op.Unary u ->
                elementwise(
                        "bp_unary",
                        n,
                        launcher.begin()
                                .i32(KernelOps.code(u.op()))
                                .ptr(ptr(c.input(0)))
                                .ptr(out)
                                .i64(n),
                        stream);
            case Op.Binary b -> binary(b, c, out, n, stream);
            case Op.Matmul m -> matmul(c, out, stream);
            case Op.Transpose t -> transpose(t, c, out, n, stream);
            case Op.Reduce r -> reduce(r, c, out, stream);
            case Op.Softmax s -> softmax(c, out, stream);
        }
    }

    /** An injected silent corruption: the output's first element becomes 12345, and the op reports success. */
    void corrupt(long out, MemorySegment stream) {
        elementwise("bp_fill", 1, launcher.begin().ptr(out).f32(12345f).i64(1), stream);
    }

    /** A real illegal-address fault (CUDA error 700, sticky), for tests that need one. */
    void illegalAddress(MemorySegment stream) {
        launch("bp_illegal_address", 1, 1, 1, 1, 1, launcher.begin().ptr(0), stream);
    }

    static long ptr(EngineArray a) {
        return a.storage(DeviceBuffer.class).pointer;
    }

    private void binary(Op.Binary b, Command c, long out, long n, MemorySegment stream) {
        EngineArray x = c.input(0);
        EngineArray y = c.input(1);
        if (n == 0) {
            return;
        }
        if (x.shape().equals(y.shape())) {
            elementwise(
                    "bp_binary_same",
                    n,
                    launcher.begin()
                            .i32(KernelOps.code(b.op()))
                            .ptr(ptr(x))
                            .ptr(ptr(y))
                            .ptr(out)
                            .i64(n),
                    stream);
            return;
        }
        BroadcastGeometry g =
                BroadcastGeometry.of(x.shape(), y.shape(), c.output().shape());
        elementwise(
                "bp_binary_broadcast",
                n,
                launcher.begin()
                        .i32(KernelOps.code(b.op()))
                        .ptr(ptr(x))
                        .ptr(ptr(y))
                        .ptr(out)
                        .i64(n)
                        .i32(g.rank())
                        .dims(g.dims())
                        .dims(g.stridesA())
                        .dims(g.stridesB()),
                stream);
    }

    private void matmul(Command c, long out, MemorySegment stream) {
        MatmulGeometry g = MatmulGeometry.of(
                c.input(0).shape(), c.input(1).shape(), c.output().shape());
        long a = ptr(c.input(0));
        long b = ptr(c.input(1));
        if (g.outputSize() == 0) {
            return;
        }
        if (g.k() == 0) {
            long total = g.outputSize();
            elementwise("bp_fill", total, launcher.begin().ptr(out).f32(0f).i64(total), stream);
            return;
        }
        int m = g.m();
        int n = g.n();
        int k = g.k();
        if (cublasHandle != null) {
            // Row-major C = A x B is column-major C^T = B^T x A^T: swap the operands, keep the ops.
            int status = g.batch() == 1
                    ? CudaDevice.invoke(() -> (int) dev.cublas.sgemm.invokeExact(
                            cublasHandle, Cublas.OP_N, Cublas.OP_N, n, m, k, dev.one, b, n, a, k, dev.zero, out, n))
                    : CudaDevice.invoke(() -> (int) dev.cublas.sgemmStridedBatched.invokeExact(
                            cublasHandle,
                            Cublas.OP_N,
                            Cublas.OP_N,
                            n,
                            m,
                            k,
                            dev.one,
                            b,
                            n,
                            g.strideB(),
                            a,
                            k,
                            g.strideA(),
                            dev.zero,
                            out,
                            n,
                            (long) m * n,
                            g.batch()));
            Cublas.check(status, "cublasSgemm " + m + "x" + k + "x" + n + (g.batch() > 1 ? " x" + g.batch() : ""));
            return;
        }
        launch(
                "bp_matmul",
                ceil(n, 32),
                ceil(m, 32),
                g.batch(),
                32,
                32,
                launcher.begin()
                        .ptr(a)
                        .ptr(b)
                        .ptr(out)
                        .i32(m)
                        .i32(n)
                        .i32(k)
                        .i64(g.strideA())
                        .i64(g.strideB()),
                stream);
    }

    private void transpose(Op.Transpose t, Command c, long out, long n, MemorySegment stream) {
        if (n == 0) {
            return;
        }
        var xs = c.input(0).shape();
        int rank = xs.rank();
        long x = ptr(c.input(0));
        int[] perm = t.axes();
        if (TransposeGeometry.isBatchedMatrixTranspose(perm)) {
            int rows = xs.dim(-2);
            int cols = xs.dim(-1);
            long batches = n / ((long) rows * cols);
            if (batches <= 65535) {
                launch(
                        "bp_transpose2d",
                        ceil(cols, 32),
                        ceil(rows, 32),
                        (int) batches,
                        32,
                        8,
                        launcher.begin().ptr(x).ptr(out).i32(rows).i32(cols),
                        stream);
                return;
            }
        }
        TransposeGeometry g = TransposeGeometry.of(xs, perm);
        elementwise(
                "bp_transpose",
                n,
                launcher.begin()
                        .ptr(x)
                        .ptr(out)
                        .i64(n)
                        .i32(Math.max(1, rank))
                        .dims(g.dims())
                        .dims(g.strides()),
                stream);
    }

    private void reduce(Op.Reduce r, Command c, long out, MemorySegment stream) {
        if (c.output().size() == 0) {
            return;
        }
        ReductionGeometry g = ReductionGeometry.of(c.input(0).shape(), r.all(), r.axis());
        long x = ptr(c.input(0));
        int op = KernelOps.code(r.op());
        if (g.inner() == 1 && g.length() >= SPLIT_REDUCTION && g.outer() < 2L * dev.multiprocessors) {
            reduceInChunks(op, x, out, g.outer(), g.length(), stream);
        } else if (g.inner() == 1) {
            launch(
                    "bp_reduce_rows",
                    (int) Math.min(g.outer(), 65535),
                    1,
                    1,
                    THREADS,
                    1,
                    launcher.begin()
                            .i32(op)
                            .ptr(x)
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length())
                            .i64(g.length()),
                    stream);
        } else {
            elementwise(
                    "bp_reduce_columns",
                    g.outer() * g.inner(),
                    launcher.begin()
                            .i32(op)
                            .ptr(x)
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length())
                            .i64(g.inner()),
                    stream);
        }
    }

    /**
     * Few long rows: one block per row would leave most of the GPU idle, so each row is cut into
     * fixed chunks reduced in parallel, then the chunk results are reduced. Scratch memory is
     * stream-ordered: freed on this stream after the second pass.
     */
    private void reduceInChunks(int op, long x, long out, long rows, long len, MemorySegment stream) {
        long chunk = Math.max(16384, (len + MAX_CHUNKS - 1) / MAX_CHUNKS);
        long chunks = (len + chunk - 1) / chunk;
        DeviceBuffer partial = scratch.allocate(rows * chunks * Float.BYTES, stream);
        try {
            launch(
                    "bp_reduce_chunks",
                    (int) chunks,
                    (int) rows,
                    1,
                    THREADS,
                    1,
                    launcher.begin()
                            .i32(op)
                            .ptr(x)
                            .ptr(partial.pointer)
                            .i64(len)
                            .i64(chunk),
                    stream);
            launch(
                    "bp_reduce_rows",
                    (int) rows,
                    1,
                    1,
                    THREADS,
                    1,
                    launcher.begin()
                            .i32(op)
                            .ptr(partial.pointer)
                            .ptr(out)
                            .i64(rows)
                            .i64(chunks)
                            .i64(len),
                    stream);
        } finally {
            long p = partial.pointer;
            CudaDevice.invoke(() -> (int) dev.driver.cuMemFreeAsync.invokeExact(p, stream));
        }
    }

    private void softmax(Command c, long out, MemorySegment stream) {
        long total = c.output().size();
        int n = c.input(0).shape().dim(-1);
        if (total == 0 || n == 0) {
            return;
        }
        long rows = total / n;
        launch(
                "bp_softmax",
                (int) Math.min(rows, 65535),
                1,
                1,
                THREADS,
                1,
                launcher.begin().ptr(ptr(c.input(0))).ptr(out).i64(rows).i64(n),
                stream);
    }

    /** A grid-stride elementwise kernel over {@code n} elements. */
    private void elementwise(String fn, long n, Launcher args, MemorySegment stream) {
        if (n == 0) {
            return;
        }
        int blocks = (int) Math.min(Math.max(1, (n + THREADS - 1) / THREADS), dev.multiprocessors * 32L);
        launch(fn, blocks, 1, 1, THREADS, 1, args, stream);
    }

    private void launch(String fn, int gx, int gy, int gz, int bx, int by, Launcher args, MemorySegment stream) {
        MemorySegment f = dev.function(fn);
        MemorySegment params = args.params();
        int r = CudaDevice.invoke(() -> (int)
                dev.driver.cuLaunchKernel.invokeExact(f, gx, gy, gz, bx, by, 1, 0, stream, params, MemorySegment.NULL));
        dev.check(r, "cuLaunchKernel " + fn + " grid(" + gx + "," + gy + "," + gz + ") block(" + bx + "," + by + ")");
    }

    private static int ceil(long x, int d) {
        return (int) ((x + d - 1) / d);
    }
}
