package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
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
 * Each op of the Metal backend, lowered onto an MSL kernel of {@code backplane_kernels.metal}: one
 * case per op, encoded as a dispatch into the batch's compute encoder. One instance per stream
 * engine, used under the stream's encode lock (its parameter memory is reused per dispatch; Metal
 * copies {@code setBytes} at the call).
 */
final class MetalLowering {
    /** A 1-D dispatch indexes threads with a 32-bit {@code uint}. */
    private static final long MAX_DISPATCH = 0xFFFF_FFFFL;

    private final ObjcRuntime rt;
    private final MetalKernels kernels;
    private final MemorySegment params;
    private final MemorySegment grid;
    private final MemorySegment group;

    MetalLowering(ObjcRuntime rt, MetalKernels kernels, Arena arena) {
        this.rt = rt;
        this.kernels = kernels;
        this.params = arena.allocate(JAVA_LONG, 64);
        this.grid = arena.allocate(ObjcRuntime.MTL_SIZE);
        this.group = arena.allocate(ObjcRuntime.MTL_SIZE);
    }

    /** Encodes command {@code c}, writing its output into {@code out}. */
    void lower(MemorySegment enc, Command c, MetalBuffer out) {
        long n = c.output().size();
        switch (c.op()) {
            case Op.Fill f -> fill(enc, out, f.value(), n);
            case Op.Unary u -> dispatch1d(enc, "bp_unary", n, buffers(c.input(0), out), KernelOps.code(u.op()));
            case Op.Binary b -> binary(enc, b, c, out, n);
            case Op.Matmul m -> matmul(enc, c, out);
            case Op.Transpose t -> transpose(enc, t, c, out, n);
            case Op.Reduce r -> reduce(enc, r, c, out);
            case Op.Softmax s -> softmax(enc, c, out);
        }
    }

    /** An injected silent corruption: the output's first element becomes 12345, and the op reports success. */
    void corrupt(MemorySegment enc, MetalBuffer out) {
        fill(enc, out, 12345f, 1);
    }

    static MetalBuffer storage(EngineArray a) {
        return a.storage(MetalBuffer.class);
    }

    private static MetalBuffer[] buffers(EngineArray in, MetalBuffer out) {
        return new MetalBuffer[] {storage(in), out};
    }

    private void fill(MemorySegment enc, MetalBuffer out, float value, long n) {
        if (n == 0) {
            return;
        }
        MetalKernels.Pipeline p = kernels.pipeline("bp_fill");
        checkDispatch(n, "full");
        rt.send(enc, "setComputePipelineState:", p.state());
        setBuffer(enc, out, 0);
        params.set(JAVA_FLOAT, 0, value);
        setBytes(enc, Float.BYTES, 1);
        dispatch(enc, n, 1, 1, Math.min(n, p.maxThreads()), 1);
    }

    private void binary(MemorySegment enc, Op.Binary b, Command c, MetalBuffer out, long n) {
        EngineArray x = c.input(0);
        EngineArray y = c.input(1);
        BroadcastGeometry g =
                BroadcastGeometry.of(x.shape(), y.shape(), c.output().shape());
        int rank = g.rank();
        long[] p = new long[2 + 3 * rank];
        p[0] = KernelOps.code(b.op());
        p[1] = rank;
        System.arraycopy(g.dims(), 0, p, 2, rank);
        System.arraycopy(g.stridesA(), 0, p, 2 + rank, rank);
        System.arraycopy(g.stridesB(), 0, p, 2 + 2 * rank, rank);
        dispatch1d(enc, "bp_binary", n, new MetalBuffer[] {storage(x), storage(y), out}, p);
    }

    private void matmul(MemorySegment enc, Command c, MetalBuffer out) {
        MatmulGeometry g = MatmulGeometry.of(
                c.input(0).shape(), c.input(1).shape(), c.output().shape());
        if (g.outputSize() == 0) {
            return;
        }
        if (g.k() == 0) {
            fill(enc, out, 0f, g.outputSize());
            return;
        }
        MetalKernels.Pipeline p = kernels.pipeline("bp_matmul");
        rt.send(enc, "setComputePipelineState:", p.state());
        setBuffer(enc, storage(c.input(0)), 0);
        setBuffer(enc, storage(c.input(1)), 1);
        setBuffer(enc, out, 2);
        setLongs(enc, 3, g.m(), g.n(), g.k(), g.strideA(), g.strideB());
        long gx = Math.min(g.n(), 16);
        long gy = Math.min(g.m(), Math.max(1, p.maxThreads() / gx / 4));
        dispatch(enc, g.n(), g.m(), g.batch(), gx, Math.min(gy, 16));
    }

    private void transpose(MemorySegment enc, Op.Transpose t, Command c, MetalBuffer out, long n) {
        TransposeGeometry g = TransposeGeometry.of(c.input(0).shape(), t.axes());
        int rank = g.rank();
        long[] p = new long[1 + 2 * rank];
        p[0] = rank;
        System.arraycopy(g.dims(), 0, p, 1, rank);
        System.arraycopy(g.strides(), 0, p, 1 + rank, rank);
        dispatch1d(enc, "bp_transpose", n, buffers(c.input(0), out), p);
    }

    private void reduce(MemorySegment enc, Op.Reduce r, Command c, MetalBuffer out) {
        ReductionGeometry g = ReductionGeometry.of(c.input(0).shape(), r.all(), r.axis());
        dispatch1d(
                enc,
                "bp_reduce",
                c.output().size(),
                buffers(c.input(0), out),
                KernelOps.code(r.op()),
                g.outer(),
                g.length(),
                g.inner());
    }

    private void softmax(MemorySegment enc, Command c, MetalBuffer out) {
        long total = c.output().size();
        int n = c.input(0).shape().dim(-1);
        if (total == 0 || n == 0) {
            return;
        }
        long rows = total / n;
        dispatch1d(enc, "bp_softmax", rows, buffers(c.input(0), out), rows, n);
    }

    /** A kernel over {@code n} threads with the given buffers at indices 0.. and the parameters after them. */
    private void dispatch1d(MemorySegment enc, String kernel, long n, MetalBuffer[] bufs, long... p) {
        if (n == 0) {
            return;
        }
        checkDispatch(n, kernel);
        MetalKernels.Pipeline pipeline = kernels.pipeline(kernel);
        rt.send(enc, "setComputePipelineState:", pipeline.state());
        for (int i = 0; i < bufs.length; i++) {
            setBuffer(enc, bufs[i], i);
        }
        setLongs(enc, bufs.length, p);
        dispatch(enc, n, 1, 1, Math.min(n, pipeline.maxThreads()), 1);
    }

    private static void checkDispatch(long n, String what) {
        if (n > MAX_DISPATCH) {
            throw new IllegalArgumentException(
                    what + " of " + n + " elements is more than one Metal dispatch can index (2^32 - 1)");
        }
    }

    private void setBuffer(MemorySegment enc, MetalBuffer buffer, long index) {
        rt.send(enc, "setBuffer:offset:atIndex:", buffer.object, 0L, index);
    }

    private void setLongs(MemorySegment enc, long index, long... values) {
        for (int i = 0; i < values.length; i++) {
            params.setAtIndex(JAVA_LONG, i, values[i]);
        }
        setBytes(enc, (long) values.length * Long.BYTES, index);
    }

    /** setBytes:length:atIndex: from {@link #params}; Metal copies the bytes at the call. */
    private void setBytes(MemorySegment enc, long length, long index) {
        rt.send(enc, "setBytes:length:atIndex:", params, length, index);
    }

    private void dispatch(MemorySegment enc, long w, long h, long d, long gw, long gh) {
        grid.set(JAVA_LONG, 0, w);
        grid.set(JAVA_LONG, 8, h);
        grid.set(JAVA_LONG, 16, d);
        group.set(JAVA_LONG, 0, gw);
        group.set(JAVA_LONG, 8, gh);
        group.set(JAVA_LONG, 16, 1);
        rt.sendSizes(enc, "dispatchThreads:threadsPerThreadgroup:", grid, group);
    }
}
