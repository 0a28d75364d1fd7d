package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.backplane.api.ErrorKind;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.BackplaneArray;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.Op;
import org.backplane.spi.Shapes;
import org.backplane.spi.StreamCore;
import org.backplane.spi.StreamEngine;

/**
 * One Backplane stream on Metal: its own {@code MTLCommandQueue} (labelled with the stream's id).
 * A batch is one command buffer with one compute encoder (serial dispatch: each kernel sees the
 * previous one's writes); every op is a dispatch of an MSL kernel into a new shared buffer.
 * Committing adds the completion handler, the upcall that reports the batch's end to the SPI.
 * Reset and device loss need a new queue: Metal fails every command buffer queued behind a failed
 * one.
 */
final class MetalStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(MetalStreamEngine.class.getName());
    /** A 1-D dispatch indexes threads with a 32-bit {@code uint}. */
    private static final long MAX_DISPATCH = 0xFFFF_FFFFL;

    private final MetalBackendEngine dev;
    private final ObjcRuntime rt;
    private final StreamCore core;
    private final Arena arena = Arena.ofShared();
    /** Parameters for setBytes and dispatch sizes; used under the SPI's encode lock only. */
    private final MemorySegment params;
    private final MemorySegment grid;
    private final MemorySegment group;
    private volatile MemorySegment queue;
    private final Object idle = new Object();
    private int inFlight;
    private final Set<CommandBatch> unended = ConcurrentHashMap.newKeySet();

    /** A batch's command buffer and open encoder (both retained by us), and its ops that wait for other streams. */
    private static final class BatchState {
        MemorySegment commandBuffer;
        MemorySegment encoder;
        List<Command> waits;
    }

    MetalStreamEngine(MetalBackendEngine dev, StreamCore core) {
        this.dev = dev;
        this.rt = dev.rt;
        this.core = core;
        this.params = arena.allocate(JAVA_LONG, 64);
        this.grid = arena.allocate(ObjcRuntime.MTL_SIZE);
        this.group = arena.allocate(ObjcRuntime.MTL_SIZE);
        MemorySegment pool = rt.pushPool();
        try {
            this.queue = newQueue();
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } finally {
            rt.popPool(pool);
        }
    }

    StreamCore core() {
        return core;
    }

    private MemorySegment newQueue() {
        MemorySegment q = rt.id(dev.device, "newCommandQueue");
        if (q.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("newCommandQueue returned nil for " + core.id());
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment label = rt.newString(core.id().toString(), call);
            rt.send(q, "setLabel:", label);
            rt.release(label);
        }
        return q;
    }

    // ------------------------------------------------------------------ encode and commit

    @Override
    public void encode(CommandBatch batch, Command command) {
        MemorySegment pool = rt.pushPool();
        try {
            dev.drainReleases();
            BatchState st = state(batch);
            for (int i = 0; i < command.inputCount(); i++) {
                BackplaneArray in = command.input(i);
                CommandBatch producer = in.producerBatch();
                if (in.owner() != core && producer != null && !producer.isFinished()) {
                    if (st.waits == null) {
                        st.waits = new ArrayList<>();
                    }
                    st.waits.add(command);
                    break;
                }
            }
            BackplaneArray out = command.output();
            MetalBuffer buffer = allocate(out.byteSize(), command);
            out.storage(buffer);
            run(st.encoder, command, buffer);
            FaultRule fault = command.injectedFault();
            if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH && out.size() > 0) {
                fill(st.encoder, buffer, 12345f, 1); // silent corruption, for result checking to find
            }
        } catch (MetalBackendEngine.KernelCompileException e) {
            core.raise(core.error(ErrorKind.KERNEL_COMPILE).nativeCode(e.code).nativeText(e.text)
                    .message("the Metal kernels did not compile").command(command).build());
            throw e;
        } finally {
            rt.popPool(pool);
        }
    }

    /** The batch's command buffer and encoder, made with its first op. */
    private BatchState state(CommandBatch batch) {
        if (batch.nativeHandle() instanceof BatchState st) {
            return st;
        }
        BatchState st = new BatchState();
        MemorySegment cb = rt.id(queue, "commandBuffer");
        if (cb.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("commandBuffer returned nil");
        }
        rt.retain(cb); // autoreleased: ours until its handler has run
        st.commandBuffer = cb;
        MemorySegment encoder = rt.id(cb, "computeCommandEncoder");
        if (encoder.equals(MemorySegment.NULL)) {
            rt.release(cb);
            throw new IllegalStateException("computeCommandEncoder returned nil");
        }
        rt.retain(encoder);
        st.encoder = encoder;
        batch.nativeHandle(st);
        return st;
    }

    private MetalBuffer allocate(long bytes, Command command) {
        MetalBuffer buffer = dev.newBuffer(bytes);
        if (buffer == null) {
            dev.reclaim(); // arrays nobody holds any more may free enough
            buffer = dev.newBuffer(bytes);
        }
        if (buffer == null) {
            StreamError error = core.error(ErrorKind.OUT_OF_MEMORY).nativeText("newBufferWithLength:options: returned nil")
                    .message("Metal could not allocate " + bytes + " bytes" + (command == null ? "" : " for " + command.describe()))
                    .command(command).build();
            core.raise(error);
            throw new IllegalStateException(error.message());
        }
        return buffer;
    }

    @Override
    public void commit(CommandBatch batch) {
        BatchState st = (BatchState) batch.nativeHandle();
        MemorySegment pool = rt.pushPool();
        try {
            MemorySegment cb = st.commandBuffer;
            rt.send(st.encoder, "endEncoding");
            rt.release(st.encoder);
            st.encoder = MemorySegment.NULL;
            synchronized (idle) {
                inFlight++;
            }
            unended.add(batch);
            try {
                dev.addCompletedHandler(this, batch, cb);
            } catch (RuntimeException | Error e) {
                ended(batch); // no handler will come for it; the SPI fails the batch
                throw e;
            }
            if (st.waits != null && !inputsSettled(st.waits)) {
                // Reserve the command buffer's place in the queue now; commit it once the inputs exist.
                rt.send(cb, "enqueue");
                dev.commitLater(() -> commitAfterInputs(st));
            } else {
                rt.send(cb, "commit");
            }
        } finally {
            rt.popPool(pool);
        }
    }

    private static boolean inputsSettled(List<Command> commands) {
        for (Command c : commands) {
            for (int i = 0; i < c.inputCount(); i++) {
                CommandBatch producer = c.input(i).producerBatch();
                if (producer != null && !producer.isFinished()) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * On the committer thread: waits for the inputs from other streams, then commits. A failed input
     * still commits (the queue must move on); the SPI then fails the batch with UPSTREAM_FAILURE (S6).
     */
    private void commitAfterInputs(BatchState st) {
        for (Command c : st.waits) {
            core.awaitInputs(c, dev::isStopping);
        }
        MemorySegment pool = rt.pushPool();
        try {
            rt.send(st.commandBuffer, "commit");
        } finally {
            rt.popPool(pool);
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        if (batch.nativeHandle() instanceof BatchState st) {
            MemorySegment pool = rt.pushPool();
            try {
                if (!st.encoder.equals(MemorySegment.NULL)) {
                    rt.send(st.encoder, "endEncoding");
                    rt.release(st.encoder);
                    st.encoder = MemorySegment.NULL;
                }
                rt.release(st.commandBuffer); // never committed: Metal never runs it
            } finally {
                rt.popPool(pool);
            }
        }
    }

    /**
     * The batch's completion handler, on Metal's thread (inside an autorelease pool): reads the
     * command buffer's status and error and reports the batch's end. Throws only on a status Metal
     * does not define; the upcall turns that into the batch's failure.
     */
    void completed(CommandBatch batch, MemorySegment commandBuffer) {
        try {
            long status = rt.word(commandBuffer, "status");
            if (status == MetalError.STATUS_ERROR) {
                MemorySegment error = rt.id(commandBuffer, "error");
                long code = error.equals(MemorySegment.NULL) ? 0 : rt.word(error, "code");
                String domain = error.equals(MemorySegment.NULL) ? "" : rt.string(rt.id(error, "domain"));
                String text = error.equals(MemorySegment.NULL) ? "no NSError" : rt.string(rt.id(error, "localizedDescription"));
                ErrorKind kind = MetalError.kind(code, text);
                StreamError e = core.error(kind).nativeCode(code).nativeText(text)
                        .message(MetalError.name(code) + " (" + domain + "): the GPU reported an error for this command buffer")
                        .batch(batch).build();
                core.batchFailed(batch, e);
                if (kind == ErrorKind.DEVICE_LOST) {
                    core.backendCore().deviceLost(e); // every stream on the device (S9)
                }
            } else if (status != MetalError.STATUS_COMPLETED) {
                throw new IllegalStateException("the completion handler saw MTLCommandBufferStatus " + status
                        + ", which Metal does not define for a finished command buffer");
            } else if (!core.failInjected(batch, f -> false)) {
                core.batchCompleted(batch);
            }
        } finally {
            rt.release(commandBuffer);
            ended(batch);
        }
    }

    /** The batch's handler has run (or never will): it no longer counts as in flight. */
    private void ended(CommandBatch batch) {
        unended.remove(batch);
        synchronized (idle) {
            inFlight--;
            idle.notifyAll();
        }
    }

    // ------------------------------------------------------------------ ops

    private void run(MemorySegment enc, Command c, MetalBuffer out) {
        long n = c.output().size();
        switch (c.op()) {
            case Op.Fill f -> fill(enc, out, f.value(), n);
            case Op.Unary u -> dispatch1d(enc, "bp_unary", n, buffers(c.input(0), out), u.op().ordinal());
            case Op.Binary b -> binary(enc, b, c, out, n);
            case Op.Matmul m -> matmul(enc, c, out);
            case Op.Transpose t -> transpose(enc, t, c, out, n);
            case Op.Reduce r -> reduce(enc, r, c, out);
            case Op.Softmax s -> softmax(enc, c, out);
        }
    }

    private static MetalBuffer[] buffers(Object... arrays) {
        MetalBuffer[] b = new MetalBuffer[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            b[i] = arrays[i] instanceof MetalBuffer mb ? mb : storage((BackplaneArray) arrays[i]);
        }
        return b;
    }

    private static MetalBuffer storage(BackplaneArray a) {
        if (a.storage() instanceof MetalBuffer b) {
            return b;
        }
        throw new IllegalStateException("input " + a + " has no Metal buffer");
    }

    private void fill(MemorySegment enc, MetalBuffer out, float value, long n) {
        if (n == 0) {
            return;
        }
        MetalBackendEngine.Pipeline p = dev.pipeline("bp_fill");
        checkDispatch(n, "full");
        rt.send(enc, "setComputePipelineState:", p.state());
        setBuffer(enc, out, 0);
        params.set(JAVA_FLOAT, 0, value);
        setBytes(enc, Float.BYTES, 1);
        dispatch(enc, n, 1, 1, Math.min(n, p.maxThreads()), 1);
    }

    private void binary(MemorySegment enc, Op.Binary b, Command c, MetalBuffer out, long n) {
        BackplaneArray x = c.input(0);
        BackplaneArray y = c.input(1);
        Shape os = c.output().shape();
        long[] dims;
        long[] sa;
        long[] sb;
        if (x.shape().equals(y.shape()) || os.rank() == 0) {
            dims = new long[] {Math.max(1, n)};
            sa = new long[] {os.rank() == 0 ? 0 : 1};
            sb = sa;
        } else {
            dims = Shapes.dims(os);
            sa = Shapes.broadcastStrides(x.shape(), os);
            sb = Shapes.broadcastStrides(y.shape(), os);
        }
        long[] p = new long[2 + 3 * dims.length];
        p[0] = b.op().ordinal();
        p[1] = dims.length;
        System.arraycopy(dims, 0, p, 2, dims.length);
        System.arraycopy(sa, 0, p, 2 + dims.length, dims.length);
        System.arraycopy(sb, 0, p, 2 + 2 * dims.length, dims.length);
        dispatch1d(enc, "bp_binary", n, buffers(x, y, out), p);
    }

    private void matmul(MemorySegment enc, Command c, MetalBuffer out) {
        Shape as = c.input(0).shape();
        Shape bs = c.input(1).shape();
        int m = as.dim(-2);
        int k = as.dim(-1);
        int n = bs.dim(-1);
        Shape os = c.output().shape();
        long batch = os.rank() == 3 ? os.dim(0) : 1;
        if (c.output().size() == 0) {
            return;
        }
        if (k == 0) {
            fill(enc, out, 0f, c.output().size());
            return;
        }
        long strideA = as.rank() == 3 && as.dim(0) != 1 ? (long) m * k : 0;
        long strideB = bs.rank() == 3 && bs.dim(0) != 1 ? (long) k * n : 0;
        MetalBackendEngine.Pipeline p = dev.pipeline("bp_matmul");
        rt.send(enc, "setComputePipelineState:", p.state());
        setBuffer(enc, storage(c.input(0)), 0);
        setBuffer(enc, storage(c.input(1)), 1);
        setBuffer(enc, out, 2);
        setLongs(enc, 3, m, n, k, strideA, strideB);
        long gx = Math.min(n, 16);
        long gy = Math.min(m, Math.max(1, p.maxThreads() / gx / 4));
        dispatch(enc, n, m, batch, gx, Math.min(gy, 16));
    }

    private void transpose(MemorySegment enc, Op.Transpose t, Command c, MetalBuffer out, long n) {
        Shape xs = c.input(0).shape();
        int rank = xs.rank();
        long[] p;
        if (rank == 0) {
            p = new long[] {1, 1, 1}; // a scalar: copy its one element
        } else {
            long[] inStrides = Shapes.strides(xs);
            p = new long[1 + 2 * rank];
            p[0] = rank;
            for (int i = 0; i < rank; i++) {
                p[1 + i] = xs.dim(t.axis(i));
                p[1 + rank + i] = inStrides[t.axis(i)];
            }
        }
        dispatch1d(enc, "bp_transpose", n, buffers(c.input(0), out), p);
    }

    private void reduce(MemorySegment enc, Op.Reduce r, Command c, MetalBuffer out) {
        Shape xs = c.input(0).shape();
        long outer = 1;
        long inner = 1;
        long len;
        if (r.all()) {
            len = xs.size();
        } else {
            for (int d = 0; d < r.axis(); d++) {
                outer *= xs.dim(d);
            }
            for (int d = r.axis() + 1; d < xs.rank(); d++) {
                inner *= xs.dim(d);
            }
            len = xs.dim(r.axis());
        }
        dispatch1d(enc, "bp_reduce", c.output().size(), buffers(c.input(0), out), r.op().ordinal(), outer, len, inner);
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
        MetalBackendEngine.Pipeline pipeline = dev.pipeline(kernel);
        rt.send(enc, "setComputePipelineState:", pipeline.state());
        for (int i = 0; i < bufs.length; i++) {
            setBuffer(enc, bufs[i], i);
        }
        setLongs(enc, bufs.length, p);
        dispatch(enc, n, 1, 1, Math.min(n, pipeline.maxThreads()), 1);
    }

    private static void checkDispatch(long n, String what) {
        if (n > MAX_DISPATCH) {
            throw new IllegalArgumentException(what + " of " + n + " elements is more than one Metal dispatch can index (2^32 - 1)");
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

    // ------------------------------------------------------------------ host copies

    @Override
    public void upload(BackplaneArray target, MemorySegment source) {
        MemorySegment pool = rt.pushPool();
        try {
            dev.drainReleases();
            MetalBuffer buffer = allocate(target.byteSize(), null);
            if (!buffer.isEmpty()) {
                MemorySegment.copy(source, 0, buffer.contents, 0, buffer.bytes);
            }
            target.storage(buffer);
        } finally {
            rt.popPool(pool);
        }
    }

    /** Shared storage: the array's bytes are read where the GPU wrote them. */
    @Override
    public void download(BackplaneArray source, MemorySegment target) {
        MetalBuffer buffer = storage(source);
        if (!buffer.isEmpty()) {
            MemorySegment.copy(buffer.contents, 0, target, 0, buffer.bytes);
        }
    }

    @Override
    public void release(BackplaneArray array) {
        if (array.storage() instanceof MetalBuffer buffer) {
            dev.release(buffer);
        }
    }

    // ------------------------------------------------------------------ reset and close

    /** Waits (bounded) until every committed command buffer's handler has run; false if time ran out. */
    private boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (idle) {
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    idle.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /** Reset: Metal fails everything behind a failed command buffer, so the stream gets a new queue. */
    @Override
    public void rebuild(Duration timeout) {
        if (!awaitIdle(timeout)) {
            LOG.log(System.Logger.Level.WARNING, () -> "reset of " + core.id() + ": command buffers still running after " + timeout
                    + "; their handlers will be ignored");
        }
        MemorySegment pool = rt.pushPool();
        try {
            MemorySegment old = queue;
            queue = newQueue();
            rt.release(old); // its command buffers keep it alive until they end
        } finally {
            rt.popPool(pool);
        }
    }

    @Override
    public void close(Duration timeout, StreamError abortError) {
        try {
            if (!awaitIdle(timeout) && abortError != null) {
                // Metal cannot cancel committed work: fail it now; its handlers, when they come, change nothing.
                for (CommandBatch b : unended) {
                    core.batchFailed(b, abortError);
                }
            }
            MemorySegment pool = rt.pushPool();
            try {
                rt.release(queue);
                dev.drainReleases();
            } finally {
                rt.popPool(pool);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing the Metal queue of " + core.id() + " failed", e);
        } finally {
            arena.close();
        }
    }
}
