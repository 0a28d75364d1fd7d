package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.CommandBatch;
import org.backplane.spi.StreamCore;
import org.backplane.spi.StreamEngine;

/**
 * The CUDA backend's device level: the driver binding, the primary context of one device, the
 * kernel module, cuBLAS, the stream-ordered memory pool, and the single upcall stub through which
 * every stream's completion callbacks arrive. All of it belongs to this instance; {@link #shutdown}
 * releases it only after every stream is closed and no callback can come any more (S11), except the
 * device's primary context itself, which is shared by the process and kept (see there).
 */
public final class CudaBackendEngine implements BackendEngine {
    private static final System.Logger LOG = System.getLogger(CudaBackendEngine.class.getName());
    private static final String PTX = "backplane_kernels.ptx";

    final Arena arena = Arena.ofShared();
    final Driver driver;
    final Cublas cublas;
    final String cublasNote;
    final MemorySegment context;
    final int device;
    final String name;
    final long totalMemory;
    final int multiprocessors;
    final String computeCapability;
    final int driverVersion;
    final boolean tf32;
    final boolean realFaults;
    private final MemorySegment module;
    final Map<String, MemorySegment> functions = new LinkedHashMap<>();
    /** Constant 1.0f and 0.0f for cuBLAS's alpha and beta, which it reads from host memory. */
    final MemorySegment one;
    final MemorySegment zero;
    private final MemorySegment callbackStub;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong keys = new AtomicLong();
    private final ReferenceQueue<DeviceBuffer> unreachable = new ReferenceQueue<>();
    private final Set<BufferReference> tracked = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Long> toFree = new ConcurrentLinkedQueue<>();

    private record Pending(CudaStreamEngine engine, CommandBatch batch) {
    }

    /** Frees a buffer's device memory once the buffer (and so its array) is unreachable. */
    private static final class BufferReference extends PhantomReference<DeviceBuffer> {
        final long pointer;
        final java.util.concurrent.atomic.AtomicBoolean freed;

        BufferReference(DeviceBuffer buffer, ReferenceQueue<DeviceBuffer> queue) {
            super(buffer, queue);
            this.pointer = buffer.pointer;
            this.freed = buffer.freed;
        }
    }

    /**
     * Opens device {@code ordinal}: retains its primary context, loads the kernels, binds cuBLAS.
     *
     * @throws CudaCallException if the driver refuses
     */
    public CudaBackendEngine(int ordinal, boolean tf32, boolean realFaults, String cublasLibrary) {
        this.tf32 = tf32;
        this.realFaults = realFaults;
        try {
            this.driver = new Driver();
            check(invoke(() -> (int) driver.cuInit.invokeExact(0)), "cuInit");
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(invoke(() -> (int) driver.cuDeviceGet.invokeExact(out, ordinal)), "cuDeviceGet " + ordinal);
            this.device = out.get(JAVA_INT, 0);
            MemorySegment nameBuf = arena.allocate(256);
            check(invoke(() -> (int) driver.cuDeviceGetName.invokeExact(nameBuf, 256, device)), "cuDeviceGetName");
            this.name = nameBuf.getString(0);
            check(invoke(() -> (int) driver.cuDeviceTotalMem.invokeExact(out, device)), "cuDeviceTotalMem");
            this.totalMemory = out.get(JAVA_LONG, 0);
            this.multiprocessors = attribute(out, Driver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            this.computeCapability = attribute(out, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) + "."
                    + attribute(out, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            check(invoke(() -> (int) driver.cuDriverGetVersion.invokeExact(out)), "cuDriverGetVersion");
            this.driverVersion = out.get(JAVA_INT, 0);
            MemorySegment ctx = arena.allocate(ADDRESS);
            check(invoke(() -> (int) driver.cuDevicePrimaryCtxRetain.invokeExact(ctx, device)), "cuDevicePrimaryCtxRetain");
            this.context = ctx.get(ADDRESS, 0);
            makeCurrent();
            keepPoolMemory();
            this.module = loadModule();
            for (String f : List.of("bp_fill", "bp_unary", "bp_binary_same", "bp_binary_broadcast", "bp_transpose", "bp_transpose2d",
                    "bp_reduce_rows", "bp_reduce_chunks", "bp_reduce_columns", "bp_softmax", "bp_matmul", "bp_illegal_address")) {
                MemorySegment fn = arena.allocate(ADDRESS);
                MemorySegment fname = arena.allocateFrom(f);
                check(invoke(() -> (int) driver.cuModuleGetFunction.invokeExact(fn, module, fname)), "cuModuleGetFunction " + f);
                functions.put(f, fn.get(ADDRESS, 0));
            }
            List<String> tried = new ArrayList<>();
            this.cublas = Cublas.load(cublasLibrary, tried).orElse(null);
            this.cublasNote = cublas != null ? cublas.library + (tf32 ? " (TF32 on)" : " (FP32)")
                    : "not found (tried " + tried + "); matmul runs Backplane's own tiled kernel";
            this.one = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, 1f);
            this.zero = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0f);
            MethodHandle target = MethodHandles.lookup().findVirtual(CudaBackendEngine.class, "onCallback",
                    MethodType.methodType(void.class, MemorySegment.class, int.class, MemorySegment.class)).bindTo(this);
            this.callbackStub = Linker.nativeLinker().upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } catch (ReflectiveOperationException e) {
            arena.close();
            throw new IllegalStateException(e);
        }
    }

    private int attribute(MemorySegment out, int attribute) {
        check(invoke(() -> (int) driver.cuDeviceGetAttribute.invokeExact(out, attribute, device)), "cuDeviceGetAttribute");
        return out.get(JAVA_INT, 0);
    }

    /** Keeps freed memory in the device's pool instead of returning it to the driver at every sync. */
    private void keepPoolMemory() {
        MemorySegment pool = arena.allocate(ADDRESS);
        check(invoke(() -> (int) driver.cuDeviceGetDefaultMemPool.invokeExact(pool, device)), "cuDeviceGetDefaultMemPool");
        MemorySegment threshold = arena.allocateFrom(JAVA_LONG, Long.MAX_VALUE);
        MemorySegment p = pool.get(ADDRESS, 0);
        check(invoke(() -> (int) driver.cuMemPoolSetAttribute.invokeExact(p, Driver.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, threshold)),
                "cuMemPoolSetAttribute");
    }

    private MemorySegment loadModule() {
        byte[] ptx;
        try (InputStream in = CudaBackendEngine.class.getResourceAsStream(PTX)) {
            if (in == null) {
                throw new IllegalStateException(PTX + " is missing from the bundle");
            }
            ptx = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + PTX, e);
        }
        MemorySegment image = arena.allocate(ptx.length + 1L);
        MemorySegment.copy(ptx, 0, image, JAVA_BYTE, 0, ptx.length);
        MemorySegment out = arena.allocate(ADDRESS);
        check(invoke(() -> (int) driver.cuModuleLoadData.invokeExact(out, image)), "cuModuleLoadData (JIT of the kernels' PTX)");
        return out.get(ADDRESS, 0);
    }

    /** Makes this engine's context current on the calling thread (every thread that calls CUDA). */
    void makeCurrent() {
        check(invoke(() -> (int) driver.cuCtxSetCurrent.invokeExact(context)), "cuCtxSetCurrent");
    }

    MemorySegment function(String fn) {
        return functions.get(fn);
    }

    // ------------------------------------------------------------------ completion callbacks

    /** Registers a batch whose callback will come; returns the key passed as the callback's user data. */
    long expect(CudaStreamEngine engine, CommandBatch batch) {
        long key = keys.incrementAndGet();
        pending.put(key, new Pending(engine, batch));
        return key;
    }

    void forget(long key) {
        pending.remove(key);
    }

    MemorySegment callbackStub() {
        return callbackStub;
    }

    /** The upcall: on a driver thread, for every committed batch. Never throws (S1). */
    private void onCallback(MemorySegment stream, int status, MemorySegment userData) {
        try {
            long key = userData.address();
            Pending p = pending.get(key);
            if (p != null) {
                try {
                    p.engine().completed(p.batch(), status);
                } finally {
                    pending.remove(key); // only now may shutdown free the stub this thread is running in
                }
            }
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "CUDA completion callback failed; continuing", t);
            } catch (Throwable ignored) {
                // nothing may escape into the driver's thread
            }
        }
    }

    int pendingCallbacks() {
        return pending.size();
    }

    // ------------------------------------------------------------------ memory

    /** Tracks a buffer so that its memory is freed once it is unreachable. */
    DeviceBuffer track(DeviceBuffer buffer) {
        if (buffer.pointer != 0) {
            tracked.add(new BufferReference(buffer, unreachable));
        }
        return buffer;
    }

    /** Frees a buffer whose work is known to be finished (an explicit close, once its event completed). */
    void freeLater(DeviceBuffer buffer) {
        if (buffer.pointer != 0 && buffer.freed.compareAndSet(false, true)) {
            toFree.add(buffer.pointer);
        }
    }

    /** Frees what became unreachable or was closed; called on user threads with the context current. */
    void drainFrees(MemorySegment stream) {
        Reference<? extends DeviceBuffer> ref;
        while ((ref = unreachable.poll()) != null) {
            BufferReference b = (BufferReference) ref;
            tracked.remove(b);
            if (b.freed.compareAndSet(false, true)) {
                toFree.add(b.pointer);
            }
        }
        Long ptr;
        while ((ptr = toFree.poll()) != null) {
            long p = ptr;
            int r = invoke(() -> (int) driver.cuMemFreeAsync.invokeExact(p, stream));
            if (r != 0) {
                LOG.log(System.Logger.Level.WARNING, () -> "cuMemFreeAsync failed: " + driver.describe(r));
            }
        }
    }

    /** After an out-of-memory: lets the GC find unreachable arrays and frees their memory. */
    void reclaim(MemorySegment stream) {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drainFrees(stream);
        invoke(() -> (int) driver.cuStreamSynchronize.invokeExact(stream));
    }

    // ------------------------------------------------------------------ BackendEngine

    @Override
    public StreamEngine openStream(StreamCore stream) {
        return new CudaStreamEngine(this, stream);
    }

    /** An error that corrupts the CUDA context cannot be undone in this process. */
    @Override
    public boolean canRebuildDevice() {
        return false;
    }

    @Override
    public String deviceLossAdvice() {
        return "CUDA errors such as illegal address (700) corrupt the CUDA context for the whole process: every later CUDA "
                + "call fails, and neither resetting the device nor creating a new context recovers it. Restart the process "
                + "to use " + name + " again, or run the CUDA backend in a supervised worker process.";
    }

    @Override
    public void shutdown(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        if (!pending.isEmpty()) {
            // A callback may still arrive: freeing the upcall stub now would crash the JVM. Leak instead.
            LOG.log(System.Logger.Level.ERROR, () -> pending.size() + " CUDA callbacks still pending at stop; the CUDA "
                    + "backend's native memory is left allocated rather than risk a callback into freed memory");
            return;
        }
        try {
            makeCurrent();
            // Waits until every callback has returned into the driver, so that closing the arena
            // cannot free the upcall stub under a driver thread.
            invoke(() -> (int) driver.cuCtxSynchronize.invokeExact());
            drainFrees(MemorySegment.NULL);
            invoke(() -> (int) driver.cuModuleUnload.invokeExact(module));
            // The primary context stays retained. Destroying it after completion upcalls have run on
            // the driver's callback thread left the JVM unable to exit (H100, driver 580: System.exit
            // and Runtime.halt both hung; keeping the context, the process exits at once). So the
            // context lives until the process ends; everything this engine created in it is freed.

        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing the CUDA context failed", e);
        }
        arena.close();
    }

    // ------------------------------------------------------------------ calls

    interface Call {
        int run() throws Throwable;
    }

    /** Runs a driver call; a Java-side failure of the call itself is a bug, not a CUDA error. */
    static int invoke(Call call) {
        try {
            return call.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void check(int result, String what) {
        if (result != 0) {
            throw new CudaCallException(result, what, driver.describe(result));
        }
    }

    String describe(int result) {
        return driver.describe(result);
    }

    public String name() {
        return name;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public Map<String, String> details() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("compute capability", computeCapability);
        d.put("multiprocessors", String.valueOf(multiprocessors));
        d.put("driver", (driverVersion / 1000) + "." + (driverVersion % 1000 / 10));
        d.put("kernels", "PTX (compute_75), JIT-compiled by the driver");
        d.put("cublas", cublasNote);
        d.put("real faults", String.valueOf(realFaults));
        return d;
    }
}
