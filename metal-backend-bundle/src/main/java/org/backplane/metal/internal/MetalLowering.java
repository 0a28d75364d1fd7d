package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
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
 * Each op of the Metal backend, lowered onto MSL kernels of {@code backplane_kernels.metal}: one
 * case per op, encoded as dispatches into the batch's compute encoder (serial: each sees the
 * previous one's writes). One instance per stream engine, used under the stream's encode lock (its
 * argument memory is reused per dispatch; Metal copies {@code setBytes} at the call).
 */
final class MetalLowering {
    /** A 1-D dispatch indexes threads with a 32-bit {@code uint}. */
    private static final long MAX_DISPATCH = 0xFFFF_FFFFL;
    /** Threads of the kernels that reduce a row per threadgroup (their {@code GROUP}). */
    private static final long GROUP = 256;

    private static final int TILE = 16;

    /** Scratch buffers for an op (released when its command buffer no longer needs them). */
    interface Scratch {
        MetalBuffer allocate(long bytes, Command command);
    }

    /** Where a {@code take} reports an out-of-range index: the errors buffer and a cleared slot in it. */
    interface IndexErrors {
        MetalBuffer buffer();

        int slotFor(Command take);
    }

    private final ObjcRuntime rt;
    private final MetalKernels kernels;
    private final Scratch scratch;
    private final IndexErrors indexErrors;
    private final MemorySegment args;
    private final MemorySegment grid;
    private final MemorySegment group;

    MetalLowering(ObjcRuntime rt, MetalKernels kernels, Scratch scratch, IndexErrors indexErrors, Arena arena) {
        this.rt = rt;
        this.kernels = kernels;
        this.scratch = scratch;
        this.indexErrors = indexErrors;
        this.args = arena.allocate(512, 8);
        this.grid = arena.allocate(ObjcRuntime.MTL_SIZE);
        this.group = arena.allocate(ObjcRuntime.MTL_SIZE);
    }

    /** Encodes command {@code c}, writing its output into {@code out}. */
    void lower(MemorySegment enc, Command c, MetalBuffer out) {
        switch (c.op()) {
            case Op.Fill _, Op.Unary _, Op.Binary _, Op.BinaryScalar _, Op.Where _, Op.Cast _, Op.Copy _ ->
                elementwise(enc, c, out);
            case Op.Matmul m -> matmul(enc, c, out);
            case Op.Reduce r -> reduce(enc, r, c, out);
            case Op.ArgReduce a -> alongAxis(enc, "bp_argreduce", a.max() ? 1 : 0, c, a.axis(), out);
            case Op.Cumsum s -> alongAxis(enc, "bp_cumsum", 0, c, s.axis(), out);
            case Op.Softmax s -> softmax(enc, s, c, out);
            case Op.LayerNorm n ->
                normalize(
                        enc,
                        c,
                        true,
                        n.hasWeight() ? 1 : 0,
                        n.hasBias() ? (n.hasWeight() ? 2 : 1) : 0,
                        n.epsilon(),
                        out);
            case Op.RmsNorm n -> normalize(enc, c, false, n.hasWeight() ? 1 : 0, 0, n.epsilon(), out);
            case Op.Take t -> take(enc, c, t.axis(), out);
            case Op.Concatenate k -> concatenate(enc, c, k.axis(), out);
            case Op.Attention a -> attention(enc, c, a, out);
        }
    }

    /** The elementwise family: one kernel over the broadcast geometry of the output and inputs. */
    private void elementwise(MemorySegment enc, Command c, MetalBuffer out) {
        EngineArray[] inputs = c.inputs().toArray(EngineArray[]::new);
        MetalBuffer[] buffers =
                Arrays.stream(inputs).map(MetalLowering::storage).toArray(MetalBuffer[]::new);
        elementwise(
                enc,
                ElementwiseKernel.of(c),
                ElementwiseGeometry.of(c.output(), inputs),
                out,
                c.output().dtype(),
                inputs,
                buffers);
    }

    /** An injected silent corruption: the output's first element becomes 12345, and the op reports success. */
    void corrupt(MemorySegment enc, EngineArray output, MetalBuffer out) {
        fill(enc, out, output.dtype(), 1, 12345f);
    }

    static MetalBuffer storage(EngineArray a) {
        return a.storage(MetalBuffer.class);
    }

    private static int code(DType t) {
        return KernelOps.code(t);
    }

    // ---------------------------------------------------------------- elementwise

    private void elementwise(
            MemorySegment enc,
            ElementwiseKernel k,
            ElementwiseGeometry g,
            MetalBuffer out,
            DType outType,
            EngineArray[] in,
            MetalBuffer[] buffers) {
        long n = g.size();
        if (n == 0) {
            return;
        }
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, k.family());
        args.set(JAVA_INT, 4, k.op());
        args.set(JAVA_INT, 8, k.domain());
        args.set(JAVA_INT, 12, k.computeType());
        args.set(JAVA_LONG, 16, n);
        args.set(JAVA_INT, 24, g.rank());
        args.set(JAVA_INT, 28, k.scalarFirst() ? 1 : 0);
        args.set(JAVA_FLOAT, 32, k.floatScalar());
        args.set(JAVA_LONG, 40, k.intScalar());
        long[] dims = g.dims();
        for (int d = 0; d < dims.length; d++) {
            args.setAtIndex(JAVA_LONG, 6 + d, dims[d]);
        }
        operand(112, g.offset(0), g.strides(0), code(outType));
        for (int i = 0; i < in.length; i++) {
            operand(112 + 80L * (i + 1), g.offset(i + 1), g.strides(i + 1), code(in[i].dtype()));
        }
        MetalBuffer[] bound = {out, out, out, out};
        System.arraycopy(buffers, 0, bound, 1, buffers.length);
        threads(enc, "bp_elementwise", n, bound, 432);
    }

    private void operand(long at, long offset, long[] strides, int dtype) {
        args.set(JAVA_LONG, at, offset);
        for (int d = 0; d < strides.length; d++) {
            args.set(JAVA_LONG, at + 8 + 8L * d, strides[d]);
        }
        args.set(JAVA_INT, at + 72, dtype);
    }

    private void fill(MemorySegment enc, MetalBuffer out, DType type, long n, float value) {
        Shape s = Shape.of(Math.toIntExact(n));
        var k = new ElementwiseKernel(
                ElementwiseKernel.FAMILY_FILL,
                0,
                type.isFloatingPoint() ? ElementwiseKernel.DOMAIN_FLOAT : ElementwiseKernel.DOMAIN_INT,
                0,
                value,
                type == DType.BOOL ? 0 : (long) value,
                false);
        elementwise(
                enc,
                k,
                ElementwiseGeometry.of(s, ArrayLayout.rowMajor(s), new Shape[0], new ArrayLayout[0]),
                out,
                type,
                new EngineArray[0],
                new MetalBuffer[0]);
    }

    private void concatenate(MemorySegment enc, Command c, int axis, MetalBuffer out) {
        long[] strides = Shapes.strides(c.output().shape());
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
            elementwise(
                    enc, copy, g, out, c.output().dtype(), new EngineArray[] {part}, new MetalBuffer[] {storage(part)});
            start += part.shape().dim(axis);
        }
    }

    // ---------------------------------------------------------------- along one axis

    private void axisArgs(int op, int xt, int ot, ReductionGeometry g) {
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, op);
        args.set(JAVA_INT, 4, xt);
        args.set(JAVA_INT, 8, ot);
        args.set(JAVA_LONG, 16, g.outer());
        args.set(JAVA_LONG, 24, g.length());
        args.set(JAVA_LONG, 32, g.inner());
    }

    private void alongAxis(MemorySegment enc, String kernel, int flag, Command c, int axis, MetalBuffer out) {
        EngineArray x = c.input(0);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), false, axis);
        axisArgs(flag, code(x.dtype()), code(c.output().dtype()), g);
        threads(enc, kernel, g.outer() * g.inner(), new MetalBuffer[] {storage(x), out}, 40);
    }

    private void reduce(MemorySegment enc, Op.Reduce r, Command c, MetalBuffer out) {
        if (c.output().size() == 0) {
            return;
        }
        EngineArray x = c.input(0);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), r.all(), r.axis());
        axisArgs(KernelOps.code(r.op()), code(x.dtype()), code(c.output().dtype()), g);
        MetalBuffer[] bufs = {storage(x), out};
        if (g.inner() == 1) {
            groups(enc, "bp_reduce_rows", g.outer(), bufs, 40);
        } else {
            threads(enc, "bp_reduce_columns", g.outer() * g.inner(), bufs, 40);
        }
    }

    private void softmax(MemorySegment enc, Op.Softmax s, Command c, MetalBuffer out) {
        EngineArray x = c.input(0);
        if (x.size() == 0) {
            return;
        }
        ReductionGeometry g = ReductionGeometry.of(x.shape(), false, s.axis());
        axisArgs(s.log() ? 1 : 0, code(x.dtype()), code(x.dtype()), g);
        MetalBuffer[] bufs = {storage(x), out};
        if (g.inner() == 1) {
            groups(enc, "bp_softmax", g.outer(), bufs, 40);
        } else {
            threads(enc, "bp_softmax_columns", g.outer() * g.inner(), bufs, 40);
        }
    }

    private void normalize(
            MemorySegment enc, Command c, boolean center, int weight, int bias, float epsilon, MetalBuffer out) {
        EngineArray x = c.input(0);
        long n = x.shape().dim(-1);
        if (x.size() == 0 || n == 0) {
            return;
        }
        long rows = x.size() / n;
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, code(x.dtype()));
        args.set(JAVA_INT, 4, center ? 1 : 0);
        args.set(JAVA_INT, 8, weight == 0 ? 0 : 1);
        args.set(JAVA_INT, 12, bias == 0 ? 0 : 1);
        args.set(JAVA_LONG, 16, rows);
        args.set(JAVA_LONG, 24, n);
        args.set(JAVA_FLOAT, 32, epsilon);
        MetalBuffer xb = storage(x);
        MetalBuffer[] bufs = {
            xb, weight == 0 ? xb : storage(c.input(weight)), bias == 0 ? xb : storage(c.input(bias)), out
        };
        groups(enc, "bp_normalize", rows, bufs, 40);
    }

    private void take(MemorySegment enc, Command c, int axis, MetalBuffer out) {
        EngineArray x = c.input(0);
        EngineArray indices = c.input(1);
        ReductionGeometry g = ReductionGeometry.of(x.shape(), false, axis);
        long total = g.outer() * indices.size() * g.inner();
        if (total == 0) {
            return;
        }
        int slot = indexErrors.slotFor(c);
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, x.dtype().byteSize());
        args.set(JAVA_INT, 4, code(indices.dtype()));
        args.set(JAVA_INT, 8, slot);
        args.set(JAVA_LONG, 16, g.outer());
        args.set(JAVA_LONG, 24, g.length());
        args.set(JAVA_LONG, 32, indices.size());
        args.set(JAVA_LONG, 40, g.inner());
        threads(enc, "bp_take", total, new MetalBuffer[] {storage(x), storage(indices), out, indexErrors.buffer()}, 48);
    }

    // ---------------------------------------------------------------- matrix products

    private void matmul(MemorySegment enc, Command c, MetalBuffer out) {
        MatmulGeometry g = MatmulGeometry.of(
                c.input(0).shape(), c.input(1).shape(), c.output().shape());
        if (g.outputSize() == 0) {
            return;
        }
        DType t = c.output().dtype();
        if (g.k() == 0) {
            fill(enc, out, t, g.outputSize(), 0f);
            return;
        }
        gemm(
                enc,
                t,
                storage(c.input(0)),
                storage(c.input(1)),
                out,
                t,
                g.m(),
                g.n(),
                g.k(),
                g.strideA(),
                g.strideB(),
                g.batch(),
                false,
                1f);
    }

    /** Row-major {@code C = alpha A x B} ({@code B} stored {@code [n, k]} when {@code transB}), batched. */
    private void gemm(
            MemorySegment enc,
            DType t,
            MetalBuffer a,
            MetalBuffer b,
            MetalBuffer c,
            DType ct,
            int m,
            int n,
            int k,
            long strideA,
            long strideB,
            int batch,
            boolean transB,
            float alpha) {
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, code(t));
        args.set(JAVA_INT, 4, code(ct));
        args.set(JAVA_INT, 8, m);
        args.set(JAVA_INT, 12, n);
        args.set(JAVA_INT, 16, k);
        args.set(JAVA_INT, 20, transB ? 1 : 0);
        args.set(JAVA_FLOAT, 24, alpha);
        args.set(JAVA_LONG, 32, strideA);
        args.set(JAVA_LONG, 40, strideB);
        MetalKernels.Pipeline p = kernels.pipeline("bp_matmul");
        bind(enc, p, new MetalBuffer[] {a, b, c}, 48);
        dispatchGroups(enc, Math.ceilDiv(n, TILE), Math.ceilDiv(m, TILE), batch, TILE, TILE);
    }

    /**
     * Attention composed from two batched products around a masked softmax: the inputs copied into
     * contiguous scratch first where they are views (heads split by a transpose, a broadcast mask),
     * the scores in float32 (never rounded to a half type), the probabilities in the operands' type.
     */
    private void attention(MemorySegment enc, Command c, Op.Attention a, MetalBuffer out) {
        AttentionGeometry g = AttentionGeometry.of(c);
        DType t = c.output().dtype();
        int batch = Math.toIntExact(g.batchSize());
        int lq = g.lq();
        int d = g.d();
        int lk = g.lk();
        int dv = g.dv();
        if (c.output().size() == 0) {
            return;
        }
        if (lk == 0) {
            fill(enc, out, t, c.output().size(), 0f); // no keys: an empty sum
            return;
        }
        MetalBuffer q = contiguous(enc, c, c.input(0), g, g.q(), lq, d);
        MetalBuffer k = contiguous(enc, c, c.input(1), g, g.k(), lk, d);
        MetalBuffer v = contiguous(enc, c, c.input(2), g, g.v(), lk, dv);
        EngineArray mask = a.hasMask() ? c.input(3) : null;
        MetalBuffer m = mask == null ? null : contiguous(enc, c, mask, g, g.mask(), lq, lk);
        long count = (long) batch * lq * lk;
        MetalBuffer scores = scratch.allocate(count * Float.BYTES, c);
        MetalBuffer probabilities = scratch.allocate(count * t.byteSize(), c);
        if (d == 0) {
            fill(enc, scores, DType.FLOAT32, count, 0f);
        } else {
            gemm(enc, t, q, k, scores, DType.FLOAT32, lq, lk, d, (long) lq * d, (long) lk * d, batch, true, a.scale());
        }
        args.fill((byte) 0);
        args.set(JAVA_INT, 0, mask == null ? -1 : code(mask.dtype()));
        args.set(JAVA_INT, 4, code(t));
        args.set(JAVA_LONG, 8, (long) batch * lq);
        args.set(JAVA_LONG, 16, lk);
        groups(
                enc,
                "bp_attention_softmax",
                (long) batch * lq,
                new MetalBuffer[] {scores, m == null ? scores : m, probabilities},
                24);
        gemm(enc, t, probabilities, v, out, t, lq, dv, lk, (long) lq * lk, (long) lk * dv, batch, false, 1f);
    }

    /** An attention input as contiguous {@code [batch..., rows, cols]}: its own buffer when it is one, else a copy. */
    private MetalBuffer contiguous(
            MemorySegment enc,
            Command c,
            EngineArray x,
            AttentionGeometry g,
            AttentionGeometry.Operand o,
            int rows,
            int cols) {
        Shape full = g.shape(rows, cols);
        ArrayLayout layout = AttentionGeometry.layout(o);
        if (layout.isRowMajor(full)) {
            return storage(x);
        }
        MetalBuffer copy = scratch.allocate(full.size() * x.dtype().byteSize(), c);
        var k = new ElementwiseKernel(
                ElementwiseKernel.FAMILY_COPY,
                0,
                x.dtype().isFloatingPoint() ? ElementwiseKernel.DOMAIN_FLOAT : ElementwiseKernel.DOMAIN_INT,
                0,
                0,
                0,
                false);
        elementwise(
                enc,
                k,
                ElementwiseGeometry.of(
                        full, ArrayLayout.rowMajor(full), new Shape[] {full}, new ArrayLayout[] {layout}),
                copy,
                x.dtype(),
                new EngineArray[] {x},
                new MetalBuffer[] {storage(x)});
        return copy;
    }

    // ---------------------------------------------------------------- dispatching

    /** One thread per element: buffers at indices 0.., the arguments after them. */
    private void threads(MemorySegment enc, String kernel, long n, MetalBuffer[] bufs, long argBytes) {
        if (n == 0) {
            return;
        }
        checkDispatch(n, kernel);
        MetalKernels.Pipeline p = kernels.pipeline(kernel);
        bind(enc, p, bufs, argBytes);
        dispatchThreads(enc, n, Math.min(n, p.maxThreads()));
    }

    /** One threadgroup per row. */
    private void groups(MemorySegment enc, String kernel, long rows, MetalBuffer[] bufs, long argBytes) {
        if (rows == 0) {
            return;
        }
        checkDispatch(rows, kernel);
        MetalKernels.Pipeline p = kernels.pipeline(kernel);
        bind(enc, p, bufs, argBytes);
        dispatchGroups(enc, rows, 1, 1, Long.highestOneBit(Math.min(GROUP, p.maxThreads())), 1);
    }

    private void bind(MemorySegment enc, MetalKernels.Pipeline p, MetalBuffer[] bufs, long argBytes) {
        rt.send(enc, "setComputePipelineState:", p.state());
        for (int i = 0; i < bufs.length; i++) {
            rt.send(enc, "setBuffer:offset:atIndex:", bufs[i].object, 0L, (long) i);
        }
        rt.send(enc, "setBytes:length:atIndex:", args, argBytes, (long) bufs.length);
    }

    private static void checkDispatch(long n, String what) {
        if (n > MAX_DISPATCH) {
            throw new IllegalArgumentException(
                    what + " over " + n + " elements is more than one Metal dispatch can index (2^32 - 1)");
        }
    }

    private void dispatchThreads(MemorySegment enc, long n, long perGroup) {
        size(grid, n, 1, 1);
        size(group, perGroup, 1, 1);
        rt.sendSizes(enc, "dispatchThreads:threadsPerThreadgroup:", grid, group);
    }

    private void dispatchGroups(MemorySegment enc, long gx, long gy, long gz, long tx, long ty) {
        size(grid, gx, gy, gz);
        size(group, tx, ty, 1);
        rt.sendSizes(enc, "dispatchThreadgroups:threadsPerThreadgroup:", grid, group);
    }

    private static void size(MemorySegment s, long w, long h, long d) {
        s.set(JAVA_LONG, 0, w);
        s.set(JAVA_LONG, 8, h);
        s.set(JAVA_LONG, 16, d);
    }
}
