package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.backplane.api.DType;
import org.backplane.api.Shape;
import org.backplane.spi.ArrayLayout;
import org.backplane.spi.Command;
import org.backplane.spi.EngineArray;
import org.backplane.spi.Op;
import org.backplane.spi.Shapes;
import org.backplane.spi.device.AttentionGeometry;
import org.backplane.spi.device.ElementwiseGeometry;
import org.backplane.spi.device.ElementwiseKernel;
import org.backplane.spi.device.KernelOps;
import org.backplane.spi.device.MatmulGeometry;
import org.backplane.spi.device.ReductionGeometry;

/**
 * Each op of the CUDA backend, lowered onto kernels of {@code backplane_kernels.cu} or cuBLAS: one
 * case per op. Launches go onto the stream the caller passes; one instance per stream engine, used
 * under the stream's encode lock.
 */
final class CudaLowering {
    private static final int THREADS = 256;
    /** Rows at least this long, when there are few of them, are reduced in two passes. */
    private static final long SPLIT_REDUCTION = 1 << 17;

    private static final long MAX_CHUNKS = 2048;

    /** Scratch memory for an op, freed by the engine when the op's batch has ended. */
    interface Scratch {
        DeviceBuffer allocate(long bytes, MemorySegment stream);
    }

    /** Where a {@code take} reports an out-of-range index: a zeroed 16-byte slot the host reads when its batch ends. */
    interface IndexErrors {
        long slotFor(Command take);
    }

    private final CudaDevice dev;
    private final Launcher launcher;
    private final MemorySegment cublasHandle;
    private final Scratch scratch;
    private final IndexErrors indexErrors;
    private final MemorySegment alpha;
    private final MemorySegment beta;

    /** @param cublasHandle the stream engine's cuBLAS handle, or null where cuBLAS is missing */
    CudaLowering(
            CudaDevice dev,
            Launcher launcher,
            MemorySegment cublasHandle,
            Scratch scratch,
            IndexErrors indexErrors,
            Arena arena) {
        this.dev = dev;
        this.launcher = launcher;
        this.cublasHandle = cublasHandle;
        this.scratch = scratch;
        this.indexErrors = indexErrors;
        this.alpha = arena.allocate(JAVA_FLOAT);
        this.beta = arena.allocateFrom(JAVA_FLOAT, 0f);
    }

    /** Launches command {@code c}'s kernels, writing its output at device address {@code out}. */
    void lower(Command c, long out, MemorySegment stream) {
        switch (c.op()) {
            case Op.Fill _, Op.Unary _, Op.Binary _, Op.BinaryScalar _, Op.Where _, Op.Cast _, Op.Copy _ ->
                elementwise(c, out, stream);
            case Op.Matmul m -> matmul(c, out, stream);
            case Op.Reduce r -> reduce(r, c, out, stream);
            case Op.ArgReduce a -> alongAxis("bp_argreduce", a.max() ? 1 : 0, c, a.axis(), out, stream);
            case Op.Cumsum s -> cumsum(c, s.axis(), out, stream);
            case Op.Softmax s -> softmax(s, c, out, stream);
            case Op.LayerNorm n ->
                normalize(
                        c,
                        true,
                        n.hasWeight() ? 1 : 0,
                        n.hasBias() ? (n.hasWeight() ? 2 : 1) : 0,
                        n.epsilon(),
                        out,
                        stream);
            case Op.RmsNorm n -> normalize(c, false, n.hasWeight() ? 1 : 0, 0, n.epsilon(), out, stream);
            case Op.Take t -> take(c, t.axis(), out, stream);
            case Op.Concatenate k -> concatenate(c, k.axis(), out, stream);
            case Op.Attention a -> attention(c, a, out, stream);
        }
    }

    /** The elementwise family: one kernel over the broadcast geometry of the output and inputs. */
    private void elementwise(Command c, long out, MemorySegment stream) {
        EngineArray[] inputs = c.inputs().toArray(EngineArray[]::new);
        elementwise(
                ElementwiseKernel.of(c),
                ElementwiseGeometry.of(c.output(), inputs),
                out,
                c.output().dtype(),
                inputs,
                stream);
    }

    /** An injected silent corruption: the output's first element becomes 12345, and the op reports success. */
    void corrupt(EngineArray output, long out, MemorySegment stream) {
        var fill = new ElementwiseKernel(
                ElementwiseKernel.FAMILY_FILL,
                0,
                output.dtype().isFloatingPoint() ? ElementwiseKernel.DOMAIN_FLOAT : ElementwiseKernel.DOMAIN_INT,
                0,
                12345f,
                output.dtype() == DType.BOOL ? 0 : 12345,
                false);
        Shape one = Shape.of(1);
        var g = ElementwiseGeometry.of(one, ArrayLayout.rowMajor(one), new Shape[0], new ArrayLayout[0]);
        elementwise(fill, g, out, output.dtype(), new EngineArray[0], stream);
    }

    /** A real illegal-address fault (CUDA error 700, sticky), for tests that need one. */
    void illegalAddress(MemorySegment stream) {
        launch("bp_illegal_address", 1, 1, 1, 1, 1, launcher.begin().ptr(0), stream);
    }

    static long ptr(EngineArray a) {
        return a.storage(DeviceBuffer.class).pointer;
    }

    private static int code(DType t) {
        return KernelOps.code(t);
    }

    // ---------------------------------------------------------------- elementwise

    private void elementwise(
            ElementwiseKernel k,
            ElementwiseGeometry g,
            long out,
            DType outType,
            EngineArray[] in,
            MemorySegment stream) {
        long n = g.size();
        if (n == 0) {
            return;
        }
        Launcher args = launcher.begin()
                .i32(k.family())
                .i32(k.op())
                .i32(k.domain())
                .i32(k.computeType())
                .i64(n)
                .i32(g.rank())
                .dims(g.dims())
                .operand(out, g.offset(0), g.strides(0), code(outType));
        for (int i = 0; i < 3; i++) {
            if (i < in.length) {
                args.operand(ptr(in[i]), g.offset(i + 1), g.strides(i + 1), code(in[i].dtype()));
            } else {
                args.operand(0, 0, new long[0], 0);
            }
        }
        args.f32(k.floatScalar()).i64(k.intScalar()).i32(k.scalarFirst() ? 1 : 0);
        gridStride("bp_elementwise", n, args, stream);
    }

    private void concatenate(Command c, int axis, long out, MemorySegment stream) {
        Shape outShape = c.output().shape();
        long[] strides = Shapes.strides(outShape);
        long start = 0;
        for (int i = 0; i < c.inputCount(); i++) {
            EngineArray part = c.input(i);
            var g = ElementwiseGeometry.of(
                    part.shape(),
                    new ArrayLayout(start * strides[axis], strides),
                    new Shape[] {part.shape()},
                    new ArrayLayout[] {part.layout()});
            var copy = new ElementwiseKernel(
                    ElementwiseKernel.FAMILY_COPY,
                    0,
                    part.dtype().isFloatingPoint() ? ElementwiseKernel.DOMAIN_FLOAT : ElementwiseKernel.DOMAIN_INT,
                    0,
                    0,
                    0,
                    false);
            elementwise(copy, g, out, c.output().dtype(), new EngineArray[] {part}, stream);
            start += part.shape().dim(axis);
        }
    }

    // ---------------------------------------------------------------- along one axis

    private void alongAxis(String fn, int flag, Command c, int axis, long out, MemorySegment stream) {
        ReductionGeometry g = ReductionGeometry.of(c.input(0).shape(), false, axis);
        gridStride(
                fn,
                g.outer() * g.inner(),
                launcher.begin()
                        .i32(flag)
                        .i32(code(c.input(0).dtype()))
                        .ptr(ptr(c.input(0)))
                        .ptr(out)
                        .i64(g.outer())
                        .i64(g.length())
                        .i64(g.inner()),
                stream);
    }

    private void cumsum(Command c, int axis, long out, MemorySegment stream) {
        ReductionGeometry g = ReductionGeometry.of(c.input(0).shape(), false, axis);
        gridStride(
                "bp_cumsum",
                g.outer() * g.inner(),
                launcher.begin()
                        .i32(code(c.input(0).dtype()))
                        .i32(code(c.output().dtype()))
                        .ptr(ptr(c.input(0)))
                        .ptr(out)
                        .i64(g.outer())
                        .i64(g.length())
                        .i64(g.inner()),
                stream);
    }

    private void reduce(Op.Reduce r, Command c, long out, MemorySegment stream) {
        if (c.output().size() == 0) {
            return;
        }
        EngineArray x = c.input(0);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), r.all(), r.axis());
        int op = KernelOps.code(r.op());
        int xt = code(x.dtype());
        int ot = code(c.output().dtype());
        boolean chunkable = x.dtype().isFloatingPoint() && r.op() != org.backplane.api.ReduceOp.VAR;
        if (chunkable && g.inner() == 1 && g.length() >= SPLIT_REDUCTION && g.outer() < 2L * dev.multiprocessors) {
            reduceInChunks(op, xt, ot, ptr(x), out, g.outer(), g.length(), stream);
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
                            .i32(xt)
                            .i32(ot)
                            .ptr(ptr(x))
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length())
                            .i64(g.length()),
                    stream);
        } else {
            gridStride(
                    "bp_reduce_columns",
                    g.outer() * g.inner(),
                    launcher.begin()
                            .i32(op)
                            .i32(xt)
                            .i32(ot)
                            .ptr(ptr(x))
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length())
                            .i64(g.inner()),
                    stream);
        }
    }

    /**
     * Few long rows: one block per row would leave most of the GPU idle, so each row is cut into
     * fixed chunks reduced in parallel (float32 partials), then the partials are reduced.
     */
    private void reduceInChunks(int op, int xt, int ot, long x, long out, long rows, long len, MemorySegment stream) {
        long chunk = Math.max(16384, (len + MAX_CHUNKS - 1) / MAX_CHUNKS);
        long chunks = (len + chunk - 1) / chunk;
        DeviceBuffer partial = scratch.allocate(rows * chunks * Float.BYTES, stream);
        launch(
                "bp_reduce_chunks",
                (int) chunks,
                (int) rows,
                1,
                THREADS,
                1,
                launcher.begin()
                        .i32(op)
                        .i32(xt)
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
                        .i32(code(DType.FLOAT32))
                        .i32(ot)
                        .ptr(partial.pointer)
                        .ptr(out)
                        .i64(rows)
                        .i64(chunks)
                        .i64(len),
                stream);
    }

    private void softmax(Op.Softmax s, Command c, long out, MemorySegment stream) {
        EngineArray x = c.input(0);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), false, s.axis());
        if (x.size() == 0) {
            return;
        }
        int t = code(x.dtype());
        if (g.inner() == 1) {
            launch(
                    "bp_softmax",
                    (int) Math.min(g.outer(), 65535),
                    1,
                    1,
                    THREADS,
                    1,
                    launcher.begin()
                            .i32(t)
                            .i32(s.log() ? 1 : 0)
                            .ptr(ptr(x))
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length()),
                    stream);
        } else {
            gridStride(
                    "bp_softmax_columns",
                    g.outer() * g.inner(),
                    launcher.begin()
                            .i32(t)
                            .i32(s.log() ? 1 : 0)
                            .ptr(ptr(x))
                            .ptr(out)
                            .i64(g.outer())
                            .i64(g.length())
                            .i64(g.inner()),
                    stream);
        }
    }

    private void normalize(
            Command c, boolean center, int weight, int bias, float epsilon, long out, MemorySegment stream) {
        EngineArray x = c.input(0);
        long n = x.shape().dim(-1);
        if (x.size() == 0 || n == 0) {
            return;
        }
        long rows = x.size() / n;
        launch(
                "bp_normalize",
                (int) Math.min(rows, 65535),
                1,
                1,
                THREADS,
                1,
                launcher.begin()
                        .i32(code(x.dtype()))
                        .i32(center ? 1 : 0)
                        .ptr(ptr(x))
                        .ptr(weight == 0 ? 0 : ptr(c.input(weight)))
                        .ptr(bias == 0 ? 0 : ptr(c.input(bias)))
                        .ptr(out)
                        .i64(rows)
                        .i64(n)
                        .f32(epsilon),
                stream);
    }

    private void take(Command c, int axis, long out, MemorySegment stream) {
        EngineArray x = c.input(0);
        EngineArray indices = c.input(1);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), false, axis);
        long total = g.outer() * indices.size() * g.inner();
        if (total == 0) {
            return;
        }
        gridStride(
                "bp_take",
                total,
                launcher.begin()
                        .i32(x.dtype().byteSize())
                        .ptr(ptr(x))
                        .ptr(ptr(indices))
                        .i32(code(indices.dtype()))
                        .ptr(out)
                        .i64(g.outer())
                        .i64(g.length())
                        .i64(indices.size())
                        .i64(g.inner())
                        .ptr(indexErrors.slotFor(c)),
                stream);
    }

    // ---------------------------------------------------------------- matrix products

    private void matmul(Command c, long out, MemorySegment stream) {
        MatmulGeometry g = MatmulGeometry.of(
                c.input(0).shape(), c.input(1).shape(), c.output().shape());
        if (g.outputSize() == 0) {
            return;
        }
        DType t = c.output().dtype();
        if (g.k() == 0) {
            zero(out, g.outputSize(), t, stream);
            return;
        }
        gemm(
                t,
                ptr(c.input(0)),
                ptr(c.input(1)),
                out,
                t,
                g.m(),
                g.n(),
                g.k(),
                g.strideA(),
                g.strideB(),
                g.batch(),
                false,
                1f,
                stream);
    }

    /**
     * Row-major {@code C[m, n] = alpha A[m, k] x B} for {@code batch} matrices, with B stored
     * {@code [k, n]}, or {@code [n, k]} when {@code transB}; A and B of type {@code t}, C of
     * {@code ct}. On cuBLAS (column-major), that is {@code C^T = op(B)^T x A^T}: the operands swap.
     */
    private void gemm(
            DType t,
            long a,
            long b,
            long c,
            DType ct,
            int m,
            int n,
            int k,
            long strideA,
            long strideB,
            int batch,
            boolean transB,
            float scale,
            MemorySegment stream) {
        if (cublasHandle == null) {
            launch(
                    "bp_matmul",
                    ceil(n, 32),
                    ceil(m, 32),
                    batch,
                    32,
                    32,
                    launcher.begin()
                            .i32(code(t))
                            .i32(code(ct))
                            .ptr(a)
                            .ptr(b)
                            .ptr(c)
                            .i32(m)
                            .i32(n)
                            .i32(k)
                            .i64(strideA)
                            .i64(strideB)
                            .i32(transB ? 1 : 0)
                            .f32(scale),
                    stream);
            return;
        }
        alpha.set(JAVA_FLOAT, 0, scale);
        int type = cublasType(t);
        int cType = cublasType(ct);
        int compute = t == DType.FLOAT32 && dev.tf32 ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
        MemorySegment h = cublasHandle;
        MemorySegment al = alpha;
        MemorySegment be = beta;
        if (batch == 1) {
            int one = CudaDevice.invoke(() -> (int) dev.cublas.gemmEx.invokeExact(
                    h,
                    transB ? Cublas.OP_T : Cublas.OP_N,
                    Cublas.OP_N,
                    n,
                    m,
                    k,
                    al,
                    b,
                    type,
                    transB ? k : n,
                    a,
                    type,
                    k,
                    be,
                    c,
                    cType,
                    n,
                    compute,
                    Cublas.GEMM_DEFAULT));
            Cublas.check(one, "cublasGemmEx " + t.id() + " " + m + "x" + k + "x" + n);
            return;
        }
        int status = CudaDevice.invoke(() -> (int) dev.cublas.gemmStridedBatchedEx.invokeExact(
                h,
                transB ? Cublas.OP_T : Cublas.OP_N,
                Cublas.OP_N,
                n,
                m,
                k,
                al,
                b,
                type,
                transB ? k : n,
                strideB,
                a,
                type,
                k,
                strideA,
                be,
                c,
                cType,
                n,
                (long) m * n,
                batch,
                compute,
                Cublas.GEMM_DEFAULT));
        Cublas.check(
                status,
                "cublasGemmStridedBatchedEx " + t.id() + " " + m + "x" + k + "x" + n + (batch > 1 ? " x" + batch : ""));
    }

    private static int cublasType(DType t) {
        return switch (t) {
            case FLOAT32 -> Cublas.R_32F;
            case FLOAT16 -> Cublas.R_16F;
            case BFLOAT16 -> Cublas.R_16BF;
            default -> throw new IllegalArgumentException("no matrix product in " + t.id());
        };
    }

    /** The fused attention kernel's limits: widths of q, k and v, and query rows per block. */
    private static final int ATTENTION_MAX_WIDTH = 128;

    private static final int ATTENTION_ROWS_PER_BLOCK = 16;
    private static final int ATTENTION_THREADS = 128;

    /**
     * Attention: one fused kernel (an online softmax over tiles of keys) reading q, k, v and the mask
     * through their strides (heads split by a transpose, a mask broadcast over heads and queries: no
     * copies) for widths up to 128; wider heads are made contiguous and attention is composed from
     * two batched cuBLAS products around a masked softmax.
     */
    private void attention(Command c, Op.Attention a, long out, MemorySegment stream) {
        AttentionGeometry g = AttentionGeometry.of(c);
        DType t = c.output().dtype();
        long rows = g.batchSize() * g.lq();
        if (rows == 0 || g.dv() == 0) {
            return;
        }
        if (g.lk() == 0) {
            zero(out, c.output().size(), t, stream); // no keys: an empty sum
            return;
        }
        if (g.d() > ATTENTION_MAX_WIDTH || g.dv() > ATTENTION_MAX_WIDTH) {
            composedAttention(c, g, a, out, stream);
            return;
        }
        EngineArray mask = a.hasMask() ? c.input(3) : null;
        Launcher args = launcher.begin()
                .i32(g.batch().rank())
                .dims(Shapes.dims(g.batch()))
                .i64(g.batchSize())
                .i64(g.lq())
                .i64(g.lk())
                .i64(g.d())
                .i64(g.dv())
                .f32(a.scale());
        attentionOperand(args, c.input(0), g.q());
        attentionOperand(args, c.input(1), g.k());
        attentionOperand(args, c.input(2), g.v());
        if (mask == null) {
            args.operand(0, 0, new long[0], 0);
        } else {
            attentionOperand(args, mask, g.mask());
        }
        args.i32(mask == null ? 0 : 1).ptr(out);
        long blocks = g.batchSize() * Math.ceilDiv(g.lq(), ATTENTION_ROWS_PER_BLOCK);
        launch("bp_attention", (int) Math.min(blocks, Integer.MAX_VALUE), 1, 1, ATTENTION_THREADS, 1, args, stream);
    }

    private static void attentionOperand(Launcher args, EngineArray x, AttentionGeometry.Operand o) {
        args.operand(ptr(x), o.offset(), o.kernelStrides(), code(x.dtype()));
    }

    /**
     * Rows too long for shared memory: q, k, v (and the mask) copied contiguous into scratch, then
     * the scores in float32 (never rounded to a half type) and the probabilities in the operands'
     * type (cuBLAS takes both operands of one type).
     */
    private void composedAttention(Command c, AttentionGeometry g, Op.Attention a, long out, MemorySegment stream) {
        DType t = c.output().dtype();
        int batch = Math.toIntExact(g.batchSize());
        int lq = g.lq();
        int lk = g.lk();
        int d = g.d();
        int dv = g.dv();
        long q = contiguous(c.input(0), g, g.q(), lq, d, stream);
        long k = contiguous(c.input(1), g, g.k(), lk, d, stream);
        long v = contiguous(c.input(2), g, g.v(), lk, dv, stream);
        EngineArray mask = a.hasMask() ? c.input(3) : null;
        long m = mask == null ? 0 : contiguous(mask, g, g.mask(), lq, lk, stream);
        long count = (long) batch * lq * lk;
        DeviceBuffer scores = scratch.allocate(count * Float.BYTES, stream);
        DeviceBuffer probabilities = scratch.allocate(count * t.byteSize(), stream);
        if (d == 0) {
            zero(scores.pointer, count, DType.FLOAT32, stream);
        } else {
            gemm(
                    t,
                    q,
                    k,
                    scores.pointer,
                    DType.FLOAT32,
                    lq,
                    lk,
                    d,
                    (long) lq * d,
                    (long) lk * d,
                    batch,
                    true,
                    a.scale(),
                    stream);
        }
        launch(
                "bp_attention_softmax",
                (int) Math.min((long) batch * lq, 65535),
                1,
                1,
                THREADS,
                1,
                launcher.begin()
                        .ptr(scores.pointer)
                        .ptr(m)
                        .i32(mask == null ? -1 : code(mask.dtype()))
                        .ptr(probabilities.pointer)
                        .i32(code(t))
                        .i64((long) batch * lq)
                        .i64(lk),
                stream);
        gemm(t, probabilities.pointer, v, out, t, lq, dv, lk, (long) lq * lk, (long) lk * dv, batch, false, 1f, stream);
    }

    /** An attention input copied into scratch as contiguous {@code [batch..., rows, cols]}. */
    private long contiguous(
            EngineArray x, AttentionGeometry g, AttentionGeometry.Operand o, int rows, int cols, MemorySegment stream) {
        Shape full = g.shape(rows, cols);
        DeviceBuffer copy = scratch.allocate(full.size() * x.dtype().byteSize(), stream);
        var k = new ElementwiseKernel(
                ElementwiseKernel.FAMILY_COPY,
                0,
                x.dtype().isFloatingPoint() ? ElementwiseKernel.DOMAIN_FLOAT : ElementwiseKernel.DOMAIN_INT,
                0,
                0,
                0,
                false);
        elementwise(
                k,
                ElementwiseGeometry.of(full, ArrayLayout.rowMajor(full), new Shape[] {full}, new ArrayLayout[] {
                    AttentionGeometry.layout(o)
                }),
                copy.pointer,
                x.dtype(),
                new EngineArray[] {x},
                stream);
        return copy.pointer;
    }

    private void zero(long out, long n, DType t, MemorySegment stream) {
        fillWith(out, n, t, 0f, stream);
    }

    private void fillWith(long out, long n, DType t, float value, MemorySegment stream) {
        Shape s = Shape.of(Math.toIntExact(n));
        var k = new ElementwiseKernel(
                ElementwiseKernel.FAMILY_FILL, 0, ElementwiseKernel.DOMAIN_FLOAT, 0, value, 0, false);
        elementwise(
                k,
                ElementwiseGeometry.of(s, ArrayLayout.rowMajor(s), new Shape[0], new ArrayLayout[0]),
                out,
                t,
                new EngineArray[0],
                stream);
    }

    // ---------------------------------------------------------------- launching

    /** A grid-stride kernel over {@code n} elements. */
    private void gridStride(String fn, long n, Launcher args, MemorySegment stream) {
        if (n == 0) {
            return;
        }
        int blocks = (int) Math.min(Math.max(1, (n + THREADS - 1) / THREADS), dev.multiprocessors * 32L);
        launch(fn, blocks, 1, 1, THREADS, 1, args, stream);
    }

    private void launch(String fn, int gx, int gy, int gz, int bx, int by, Launcher args, MemorySegment stream) {
        launch(fn, gx, gy, gz, bx, by, 0, args, stream);
    }

    private void launch(
            String fn, int gx, int gy, int gz, int bx, int by, int sharedBytes, Launcher args, MemorySegment stream) {
        MemorySegment f = dev.function(fn);
        MemorySegment params = args.params();
        int r = CudaDevice.invoke(() -> (int) dev.driver.cuLaunchKernel.invokeExact(
                f, gx, gy, gz, bx, by, 1, sharedBytes, stream, params, MemorySegment.NULL));
        dev.check(r, "cuLaunchKernel " + fn + " grid(" + gx + "," + gy + "," + gz + ") block(" + bx + "," + by + ")");
    }

    private static int ceil(long x, int d) {
        return (int) ((x + d - 1) / d);
    }
}
