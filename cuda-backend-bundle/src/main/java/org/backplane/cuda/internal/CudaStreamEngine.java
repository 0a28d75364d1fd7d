package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.backplane.api.ErrorKind;
import org.backplane.api.Shape;
import org.backplane.api.StreamError;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.BackplaneArray;
import org.backplane.spi.Command;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.ErrorBuilder;
import org.backplane.spi.Op;
import org.backplane.spi.Shapes;
import org.backplane.spi.StreamCore;
import org.backplane.spi.StreamEngine;

/**
 * One Backplane stream on a GPU: a non-blocking {@code CUstream} for its ops, a second one for host
 * copies, and a cuBLAS handle. Ops are launched as they are encoded; committing a batch records an
 * event (which consumers on other streams wait for) and adds a stream callback, the upcall that
 * reports the batch's end to the SPI. Allocation failures and sticky faults are captured here with
 * the CUDA error code and text unchanged.
 */
final class CudaStreamEngine implements StreamEngine {
    private static final System.Logger LOG = System.getLogger(CudaStreamEngine.class.getName());
    /** Host copies up to this size read or write the Java heap directly (they briefly pause the GC). */
    private static final long HEAP_COPY_MAX = 1L << 20;
    private static final long STAGING_CHUNK = 32L << 20;
    private static final int THREADS = 256;
    /** Rows at least this long, when there are few of them, are reduced in two passes. */
    private static final long SPLIT_REDUCTION = 1 << 17;
    private static final long MAX_CHUNKS = 2048;

    private final CudaBackendEngine dev;
    private final StreamCore core;
    private final Arena arena = Arena.ofShared();
    private final Launcher launcher;
    private final MemorySegment scratch;
    private volatile MemorySegment stream;
    private final MemorySegment copyStream;
    /**
     * Carries the completion callbacks: it waits for each batch's event and then runs the callback,
     * so the (blocking) callback never stalls the compute stream behind it.
     */
    private final MemorySegment notifyStream;
    /** Downloads of a closed stream's arrays still work (their memory lives on); they use the default stream. */
    private final ReentrantReadWriteLock copyLock = new ReentrantReadWriteLock();
    private boolean closed;
    private final MemorySegment cublasHandle;
    private final ArrayDeque<MemorySegment> events = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<MemorySegment> retiredEvents = new ConcurrentLinkedQueue<>();

    /**
     * What a batch holds on the device: the event its commit records (consumers on other streams wait
     * for it) and the buffers its ops use, which a closed array's memory waits for before it is freed.
     */
    private static final class BatchResources {
        final MemorySegment event;
        final List<DeviceBuffer> used = new ArrayList<>();

        BatchResources(MemorySegment event) {
            this.event = event;
        }
    }

    CudaStreamEngine(CudaBackendEngine dev, StreamCore core) {
        this.dev = dev;
        this.core = core;
        this.launcher = new Launcher(arena);
        this.scratch = arena.allocate(JAVA_LONG, 2);
        dev.makeCurrent();
        this.stream = createStream();
        this.copyStream = createStream();
        this.notifyStream = createStream();
        if (dev.cublas != null) {
            MemorySegment h = arena.allocate(ADDRESS);
            cublasCheck(CudaBackendEngine.invoke(() -> (int) dev.cublas.create.invokeExact(h)), "cublasCreate");
            this.cublasHandle = h.get(ADDRESS, 0);
            MemorySegment s = stream;
            cublasCheck(CudaBackendEngine.invoke(() -> (int) dev.cublas.setStream.invokeExact(cublasHandle, s)), "cublasSetStream");
            int mode = dev.tf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.DEFAULT_MATH;
            cublasCheck(CudaBackendEngine.invoke(() -> (int) dev.cublas.setMathMode.invokeExact(cublasHandle, mode)), "cublasSetMathMode");
        } else {
            this.cublasHandle = null;
        }
    }

    private MemorySegment createStream() {
        MemorySegment out = arena.allocate(ADDRESS);
        dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamCreate.invokeExact(out, Driver.CU_STREAM_NON_BLOCKING)),
                "cuStreamCreate");
        return out.get(ADDRESS, 0);
    }

    // ------------------------------------------------------------------ encode and commit

    @Override
    public void encode(CommandBatch batch, Command command) {
        dev.makeCurrent();
        dev.drainFrees(stream);
        if (batch.nativeHandle() == null) {
            batch.nativeHandle(new BatchResources(takeEvent()));
        }
        BatchResources resources = (BatchResources) batch.nativeHandle();
        try {
            for (int i = 0; i < command.inputCount(); i++) {
                waitFor(command.input(i));
            }
            FaultRule fault = command.injectedFault();
            if (fault != null && dev.realFaults && fault.kind() == ErrorKind.PAGE_FAULT) {
                launch("bp_illegal_address", 1, 1, 1, 1, 1, launcher.begin().ptr(0)); // a real illegal-address fault
            }
            BackplaneArray out = command.output();
            DeviceBuffer buffer = allocate(out.byteSize(), stream, scratch); // scratch: under the encode lock
            out.storage(dev.track(buffer));
            run(command, buffer.pointer);
            if (fault != null && fault.kind() == ErrorKind.VERIFICATION_MISMATCH && out.size() > 0) {
                elementwise("bp_fill", 1, launcher.begin().ptr(buffer.pointer).f32(12345f).i64(1)); // silent corruption
            }
            uses(resources, buffer);
            for (int i = 0; i < command.inputCount(); i++) {
                if (command.input(i).storage() instanceof DeviceBuffer in) {
                    uses(resources, in);
                }
            }
        } catch (CudaCallException e) {
            throw failedToEncode(command, e);
        }
    }

    /** A CUDA call failed while encoding: bad input for the caller, or a fault captured into the slot. */
    private RuntimeException failedToEncode(Command command, CudaCallException e) {
        if (CudaError.isBadInput(e.code)) {
            return new IllegalArgumentException("the GPU refused " + command.describe() + ": " + e.getMessage(), e);
        }
        raise(e.code, cudaError(e.code, e.text).message(e.getMessage()).command(command).build());
        return e;
    }

    /** An error record carrying CUDA's own code and text, of the kind the contract gives that code. */
    private ErrorBuilder cudaError(int code, String text) {
        return core.error(CudaError.kind(code)).nativeCode(code).nativeText(text);
    }

    /** Captures an error met on the caller's thread (S3 reports it at once). */
    private void raise(int code, StreamError error) {
        core.raise(error);
        loseDeviceIfSticky(code, error);
    }

    /** Captures an error of a committed batch. */
    private void batchFailed(CommandBatch batch, int code, StreamError error) {
        core.batchFailed(batch, error);
        loseDeviceIfSticky(code, error);
    }

    /** A sticky code corrupted the context: every stream on the device is poisoned (S9). */
    private void loseDeviceIfSticky(int code, StreamError error) {
        if (CudaError.isSticky(code)) {
            core.backendCore().deviceLost(error);
        }
    }

    private static void uses(BatchResources resources, DeviceBuffer buffer) {
        if (buffer.pointer != 0) {
            buffer.use();
            resources.used.add(buffer);
        }
    }

    /** The batch's ops have ended (either way): buffers of closed arrays that nothing else uses can go. */
    private void ended(BatchResources resources) {
        for (DeviceBuffer b : resources.used) {
            if (b.done()) {
                dev.freeLater(b);
            }
        }
        retiredEvents.add(resources.event);
    }

    @Override
    public void commit(CommandBatch batch) {
        dev.makeCurrent();
        BatchResources resources = (BatchResources) batch.nativeHandle();
        MemorySegment event = resources.event;
        MemorySegment s = stream;
        int r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuEventRecord.invokeExact(event, s));
        if (r != 0) {
            fail(batch, r, "cuEventRecord");
            return;
        }
        MemorySegment n = notifyStream;
        r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamWaitEvent.invokeExact(n, event, 0));
        if (r != 0) {
            fail(batch, r, "cuStreamWaitEvent");
            return;
        }
        long key = dev.expect(this, batch);
        MemorySegment stub = dev.callbackStub();
        MemorySegment userData = MemorySegment.ofAddress(key);
        r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamAddCallback.invokeExact(n, stub, userData, 0));
        if (r != 0) {
            dev.forget(key);
            fail(batch, r, "cuStreamAddCallback");
        }
    }

    @Override
    public void discarded(CommandBatch batch) {
        if (batch.nativeHandle() instanceof BatchResources resources) {
            ended(resources);
        }
    }

    private void fail(CommandBatch batch, int code, String what) {
        ended((BatchResources) batch.nativeHandle());
        batchFailed(batch, code, cudaError(code, dev.describe(code)).message(what + " failed").batch(batch).build());
    }

    /**
     * The batch's stream callback, on a driver thread: no CUDA call may be made here. Reports the
     * batch's end to the SPI, realising injected faults where a real one would surface.
     */
    void completed(CommandBatch batch, int status) {
        ended((BatchResources) batch.nativeHandle());
        if (status != 0) {
            batchFailed(batch, status, cudaError(status, dev.describe(status))
                    .message("the GPU reported an error for this command buffer").batch(batch).build());
            return;
        }
        if (core.failInjected(batch, f -> dev.realFaults && f.kind() == ErrorKind.PAGE_FAULT)) {
            return;
        }
        core.batchCompleted(batch);
    }

    private MemorySegment takeEvent() {
        MemorySegment e;
        while ((e = retiredEvents.poll()) != null) {
            events.push(e);
        }
        e = events.poll();
        if (e != null) {
            return e;
        }
        MemorySegment out = arena.allocate(ADDRESS);
        dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuEventCreate.invokeExact(out, Driver.CU_EVENT_DISABLE_TIMING)),
                "cuEventCreate");
        return out.get(ADDRESS, 0);
    }

    /** Makes this stream wait for an input that another stream is still producing. */
    private void waitFor(BackplaneArray input) {
        CommandBatch producer = input.producerBatch();
        if (input.owner() == core || producer == null || producer.isFinished()) {
            return;
        }
        if (!(producer.nativeHandle() instanceof BatchResources resources)) {
            return;
        }
        MemorySegment event = resources.event;
        MemorySegment s = stream;
        dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamWaitEvent.invokeExact(s, event, 0)), "cuStreamWaitEvent");
    }

    /** Allocates stream-ordered device memory; {@code out} receives the pointer (8 bytes). */
    private DeviceBuffer allocate(long bytes, MemorySegment onStream, MemorySegment out) {
        if (bytes == 0) {
            return new DeviceBuffer(0, 0);
        }
        int r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, bytes, onStream));
        if (r == CudaError.OUT_OF_MEMORY) {
            dev.reclaim(onStream); // arrays nobody holds any more may free enough
            r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemAllocAsync.invokeExact(out, bytes, onStream));
        }
        dev.check(r, "cuMemAllocAsync of " + bytes + " bytes");
        return new DeviceBuffer(out.get(JAVA_LONG, 0), bytes);
    }

    // ------------------------------------------------------------------ ops

    private static long ptr(BackplaneArray a) {
        Object storage = a.storage();
        if (storage instanceof DeviceBuffer b) {
            return b.pointer;
        }
        throw new IllegalStateException("input " + a + " has no device memory");
    }

    private void run(Command c, long out) {
        long n = c.output().size();
        switch (c.op()) {
            case Op.Fill f -> elementwise("bp_fill", n, launcher.begin().ptr(out).f32(f.value()).i64(n));
            case Op.Unary u -> elementwise("bp_unary", n, launcher.begin().i32(u.op().ordinal()).ptr(ptr(c.input(0))).ptr(out).i64(n));
            case Op.Binary b -> binary(b, c, out, n);
            case Op.Matmul m -> matmul(c, out);
            case Op.Transpose t -> transpose(t, c, out, n);
            case Op.Reduce r -> reduce(r, c, out);
            case Op.Softmax s -> softmax(c, out);
        }
    }

    private void binary(Op.Binary b, Command c, long out, long n) {
        BackplaneArray x = c.input(0);
        BackplaneArray y = c.input(1);
        if (n == 0) {
            return;
        }
        if (x.shape().equals(y.shape())) {
            elementwise("bp_binary_same", n, launcher.begin().i32(b.op().ordinal()).ptr(ptr(x)).ptr(ptr(y)).ptr(out).i64(n));
            return;
        }
        Shape os = c.output().shape();
        int rank = Math.max(1, os.rank());
        long[] dims = os.rank() == 0 ? new long[] {1} : Shapes.dims(os);
        long[] sa = os.rank() == 0 ? new long[] {0} : Shapes.broadcastStrides(x.shape(), os);
        long[] sb = os.rank() == 0 ? new long[] {0} : Shapes.broadcastStrides(y.shape(), os);
        elementwise("bp_binary_broadcast", n, launcher.begin().i32(b.op().ordinal()).ptr(ptr(x)).ptr(ptr(y)).ptr(out).i64(n).i32(rank)
                .dims(dims).dims(sa).dims(sb));
    }

    private void matmul(Command c, long out) {
        Shape as = c.input(0).shape();
        Shape bs = c.input(1).shape();
        int m = as.dim(-2);
        int k = as.dim(-1);
        int n = bs.dim(-1);
        Shape os = c.output().shape();
        int batch = os.rank() == 3 ? os.dim(0) : 1;
        long strideA = as.rank() == 3 && as.dim(0) != 1 ? (long) m * k : 0;
        long strideB = bs.rank() == 3 && bs.dim(0) != 1 ? (long) k * n : 0;
        long a = ptr(c.input(0));
        long b = ptr(c.input(1));
        if (c.output().size() == 0) {
            return;
        }
        if (k == 0) {
            long total = c.output().size();
            elementwise("bp_fill", total, launcher.begin().ptr(out).f32(0f).i64(total));
            return;
        }
        if (cublasHandle != null) {
            // Row-major C = A x B is column-major C^T = B^T x A^T: swap the operands, keep the ops.
            int status = batch == 1
                    ? CudaBackendEngine.invoke(() -> (int) dev.cublas.sgemm.invokeExact(cublasHandle, Cublas.OP_N, Cublas.OP_N, n, m, k,
                            dev.one, b, n, a, k, dev.zero, out, n))
                    : CudaBackendEngine.invoke(() -> (int) dev.cublas.sgemmStridedBatched.invokeExact(cublasHandle, Cublas.OP_N,
                            Cublas.OP_N, n, m, k, dev.one, b, n, strideB, a, k, strideA, dev.zero, out, n, (long) m * n, batch));
            cublasCheck(status, "cublasSgemm " + m + "x" + k + "x" + n + (batch > 1 ? " x" + batch : ""));
            return;
        }
        launch("bp_matmul", ceil(n, 32), ceil(m, 32), batch, 32, 32,
                launcher.begin().ptr(a).ptr(b).ptr(out).i32(m).i32(n).i32(k).i64(strideA).i64(strideB));
    }

    private void transpose(Op.Transpose t, Command c, long out, long n) {
        if (n == 0) {
            return;
        }
        Shape xs = c.input(0).shape();
        int rank = xs.rank();
        long x = ptr(c.input(0));
        boolean batchedMatrix = rank >= 2 && t.axis(rank - 2) == rank - 1 && t.axis(rank - 1) == rank - 2;
        for (int d = 0; d < rank - 2 && batchedMatrix; d++) {
            batchedMatrix = t.axis(d) == d;
        }
        int rows = rank >= 2 ? xs.dim(-2) : 1;
        int cols = rank >= 2 ? xs.dim(-1) : 1;
        long batches = rank >= 2 ? n / ((long) rows * cols) : 0;
        if (batchedMatrix && batches <= 65535) {
            launch("bp_transpose2d", ceil(cols, 32), ceil(rows, 32), (int) batches, 32, 8, launcher.begin().ptr(x).ptr(out).i32(rows).i32(cols));
            return;
        }
        if (rank == 0) {
            // A scalar: the general kernel copies its one element (bit for bit, -0 included).
            elementwise("bp_transpose", n, launcher.begin().ptr(x).ptr(out).i64(n).i32(1).dims(new long[] {1}).dims(new long[] {1}));
            return;
        }
        long[] inStrides = Shapes.strides(xs);
        long[] strides = new long[rank];
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) {
            strides[i] = inStrides[t.axis(i)];
            dims[i] = xs.dim(t.axis(i));
        }
        elementwise("bp_transpose", n, launcher.begin().ptr(x).ptr(out).i64(n).i32(rank).dims(dims).dims(strides));
    }

    private void reduce(Op.Reduce r, Command c, long out) {
        long outSize = c.output().size();
        if (outSize == 0) {
            return;
        }
        Shape xs = c.input(0).shape();
        long outer;
        long len;
        long inner;
        if (r.all()) {
            outer = 1;
            len = xs.size();
            inner = 1;
        } else {
            outer = 1;
            inner = 1;
            for (int d = 0; d < r.axis(); d++) {
                outer *= xs.dim(d);
            }
            for (int d = r.axis() + 1; d < xs.rank(); d++) {
                inner *= xs.dim(d);
            }
            len = xs.dim(r.axis());
        }
        long x = ptr(c.input(0));
        if (inner == 1 && len >= SPLIT_REDUCTION && outer < 2L * dev.multiprocessors) {
            reduceInChunks(r.op().ordinal(), x, out, outer, len);
        } else if (inner == 1) {
            launch("bp_reduce_rows", (int) Math.min(outer, 65535), 1, 1, THREADS, 1,
                    launcher.begin().i32(r.op().ordinal()).ptr(x).ptr(out).i64(outer).i64(len).i64(len));
        } else {
            elementwise("bp_reduce_columns", outer * inner,
                    launcher.begin().i32(r.op().ordinal()).ptr(x).ptr(out).i64(outer).i64(len).i64(inner));
        }
    }

    /**
     * Few long rows: one block per row would leave most of the GPU idle, so each row is cut into
     * fixed chunks reduced in parallel, then the chunk results are reduced. Scratch memory is
     * stream-ordered: freed on this stream after the second pass.
     */
    private void reduceInChunks(int op, long x, long out, long rows, long len) {
        long chunk = Math.max(16384, (len + MAX_CHUNKS - 1) / MAX_CHUNKS);
        long chunks = (len + chunk - 1) / chunk;
        MemorySegment s = stream;
        DeviceBuffer partial = allocate(rows * chunks * Float.BYTES, s, scratch);
        try {
            launch("bp_reduce_chunks", (int) chunks, (int) rows, 1, THREADS, 1,
                    launcher.begin().i32(op).ptr(x).ptr(partial.pointer).i64(len).i64(chunk));
            launch("bp_reduce_rows", (int) rows, 1, 1, THREADS, 1,
                    launcher.begin().i32(op).ptr(partial.pointer).ptr(out).i64(rows).i64(chunks).i64(len));
        } finally {
            long p = partial.pointer;
            CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemFreeAsync.invokeExact(p, s));
        }
    }

    private void softmax(Command c, long out) {
        long total = c.output().size();
        int n = c.input(0).shape().dim(-1);
        if (total == 0 || n == 0) {
            return;
        }
        long rows = total / n;
        launch("bp_softmax", (int) Math.min(rows, 65535), 1, 1, THREADS, 1, launcher.begin().ptr(ptr(c.input(0))).ptr(out).i64(rows).i64(n));
    }

    /** A grid-stride elementwise kernel over {@code n} elements. */
    private void elementwise(String fn, long n, Launcher args) {
        if (n == 0) {
            return;
        }
        int blocks = (int) Math.min(Math.max(1, (n + THREADS - 1) / THREADS), dev.multiprocessors * 32L);
        launch(fn, blocks, 1, 1, THREADS, 1, args);
    }

    private void launch(String fn, int gx, int gy, int gz, int bx, int by, Launcher args) {
        MemorySegment f = dev.function(fn);
        MemorySegment s = stream;
        MemorySegment params = args.params();
        int r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuLaunchKernel.invokeExact(f, gx, gy, gz, bx, by, 1, 0, s, params,
                MemorySegment.NULL));
        dev.check(r, "cuLaunchKernel " + fn + " grid(" + gx + "," + gy + "," + gz + ") block(" + bx + "," + by + ")");
    }

    private void cublasCheck(int status, String what) {
        if (status != 0) {
            int code = switch (status) {
                case 3 -> CudaError.OUT_OF_MEMORY; // CUBLAS_STATUS_ALLOC_FAILED
                case 7 -> CudaError.INVALID_VALUE; // CUBLAS_STATUS_INVALID_VALUE
                default -> 999;
            };
            throw new CudaCallException(code, what, "CUBLAS_STATUS " + status);
        }
    }

    private static int ceil(long x, int d) {
        return (int) ((x + d - 1) / d);
    }

    // ------------------------------------------------------------------ host copies

    @Override
    public void upload(BackplaneArray target, MemorySegment source) {
        dev.makeCurrent();
        dev.drainFrees(copyStream);
        long bytes = target.byteSize();
        DeviceBuffer buffer;
        try (Arena call = Arena.ofConfined()) {
            buffer = allocate(bytes, copyStream, call.allocate(JAVA_LONG));
            if (bytes > 0) {
                copyIn(buffer.pointer, source, bytes);
            }
            synchronize(copyStream, "upload");
        } catch (CudaCallException e) {
            raise(e.code, cudaError(e.code, e.text).message("upload of " + target.shape() + " failed: " + e.getMessage()).build());
            throw e;
        }
        target.storage(dev.track(buffer));
    }

    private void copyIn(long dst, MemorySegment src, long bytes) {
        MemorySegment s = copyStream;
        if (src.isNative()) {
            dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, s)), "cuMemcpyHtoDAsync");
        } else if (bytes <= HEAP_COPY_MAX) {
            dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsyncHeap.invokeExact(dst, src, bytes, s)), "cuMemcpyHtoDAsync");
        } else {
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment buf = staging.allocate(Math.min(bytes, STAGING_CHUNK), 64);
                for (long off = 0; off < bytes; off += buf.byteSize()) {
                    long len = Math.min(buf.byteSize(), bytes - off);
                    MemorySegment.copy(src, off, buf, 0, len);
                    long d = dst + off;
                    dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyHtoDAsync.invokeExact(d, buf, len, s)), "cuMemcpyHtoDAsync");
                    synchronize(s, "upload");
                }
            }
        }
    }

    @Override
    public void download(BackplaneArray source, MemorySegment target) {
        dev.makeCurrent();
        long bytes = source.byteSize();
        if (bytes == 0) {
            return;
        }
        long src = ptr(source);
        copyLock.readLock().lock();
        MemorySegment s = closed ? MemorySegment.NULL : copyStream;
        try {
            if (target.isNative()) {
                dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyDtoHAsync.invokeExact(target, src, bytes, s)), "cuMemcpyDtoHAsync");
                synchronize(s, "download");
            } else if (bytes <= HEAP_COPY_MAX) {
                dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyDtoHAsyncHeap.invokeExact(target, src, bytes, s)), "cuMemcpyDtoHAsync");
                synchronize(s, "download");
            } else {
                try (Arena staging = Arena.ofConfined()) {
                    MemorySegment buf = staging.allocate(Math.min(bytes, STAGING_CHUNK), 64);
                    for (long off = 0; off < bytes; off += buf.byteSize()) {
                        long len = Math.min(buf.byteSize(), bytes - off);
                        long sp = src + off;
                        dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuMemcpyDtoHAsync.invokeExact(buf, sp, len, s)), "cuMemcpyDtoHAsync");
                        synchronize(s, "download");
                        MemorySegment.copy(buf, 0, target, off, len);
                    }
                }
            }
        } catch (CudaCallException e) {
            raise(e.code, cudaError(e.code, e.text).message("download of " + source.shape() + " failed: " + e.getMessage()).build());
            throw e;
        } finally {
            copyLock.readLock().unlock();
        }
    }

    private void synchronize(MemorySegment s, String what) {
        dev.check(CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamSynchronize.invokeExact(s)), "cuStreamSynchronize (" + what + ")");
    }

    // ------------------------------------------------------------------ release, reset, close

    /** Frees the array's memory as soon as no queued op on any stream uses it any more. */
    @Override
    public void release(BackplaneArray array) {
        if (array.storage() instanceof DeviceBuffer buffer && buffer.pointer != 0 && buffer.close()) {
            dev.freeLater(buffer);
        }
    }

    /** Waits (bounded) for the stream to drain: 0 when it did, NOT_READY when it did not in time, or the stream's error. */
    private int awaitIdle(MemorySegment s, long deadline) {
        for (;;) {
            int r = CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamQuery.invokeExact(s));
            if (r != CudaError.NOT_READY || System.nanoTime() > deadline) {
                return r;
            }
            Thread.onSpinWait();
        }
    }

    /** Waits for this stream's work and callbacks; logs why not when it cannot. */
    private void drain(String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (MemorySegment s : new MemorySegment[] {stream, copyStream, notifyStream}) {
            int r = awaitIdle(s, deadline);
            if (r == CudaError.NOT_READY) {
                LOG.log(System.Logger.Level.WARNING, () -> what + " " + core.id() + ": GPU work still running after " + timeout
                        + "; it is released when it finishes and its callbacks are ignored");
                return;
            }
            if (r != 0) {
                LOG.log(System.Logger.Level.DEBUG, () -> what + " " + core.id() + ": the context reports " + dev.describe(r));
                return;
            }
        }
    }

    /**
     * Reset: the failed generation's work is left to finish (its callbacks still arrive and are
     * ignored), the stream is destroyed (CUDA frees it when its work is done) and a new one made.
     */
    @Override
    public void rebuild(Duration timeout) {
        dev.makeCurrent();
        MemorySegment old = stream;
        drain("reset of", timeout);
        CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(old));
        MemorySegment fresh = createStream();
        stream = fresh;
        if (cublasHandle != null) {
            cublasCheck(CudaBackendEngine.invoke(() -> (int) dev.cublas.setStream.invokeExact(cublasHandle, fresh)), "cublasSetStream");
        }
    }

    @Override
    public void close(Duration timeout, StreamError abortError) {
        try {
            dev.makeCurrent();
            drain("closing", timeout);
            MemorySegment s = stream;
            CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(s));
            CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(notifyStream));
            copyLock.writeLock().lock();
            try {
                closed = true;
                CudaBackendEngine.invoke(() -> (int) dev.driver.cuStreamDestroy.invokeExact(copyStream));
            } finally {
                copyLock.writeLock().unlock();
            }
            if (cublasHandle != null) {
                CudaBackendEngine.invoke(() -> (int) dev.cublas.destroy.invokeExact(cublasHandle));
            }
            events.addAll(retiredEvents);
            for (MemorySegment e : events) {
                CudaBackendEngine.invoke(() -> (int) dev.driver.cuEventDestroy.invokeExact(e));
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing the CUDA stream of " + core.id() + " failed", e);
        } finally {
            arena.close();
        }
    }
}
