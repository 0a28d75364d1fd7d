package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One CUDA device as the backend uses it: the driver binding, the device's primary context, the
 * kernels' module and its functions, cuBLAS, and the arena all of it lives in. Owned by one backend
 * engine; {@link #close} frees what it created, except the primary context (see there).
 */
final class CudaDevice {
    private static final System.Logger LOG = System.getLogger(CudaDevice.class.getName());
    private static final String PTX = "backplane_kernels.ptx";
    /** The kernels the backend launches; each must be in the committed PTX (a test checks). */
    static final List<String> KERNELS = List.of(
            "bp_elementwise",
            "bp_reduce_rows",
            "bp_reduce_chunks",
            "bp_reduce_columns",
            "bp_argreduce",
            "bp_cumsum",
            "bp_softmax",
            "bp_softmax_columns",
            "bp_normalize",
            "bp_take",
            "bp_attention_softmax",
            "bp_matmul",
            "bp_attention",
            "bp_illegal_address");

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
    private final Map<String, MemorySegment> functions = new HashMap<>();
    /** CUDA's own names and texts of its error codes, read at start: callbacks may make no CUDA call. */
    private final Map<Integer, String> errorTexts = new HashMap<>();
    /** Constant 1.0f and 0.0f for cuBLAS's alpha and beta, which it reads from host memory. */
    final MemorySegment one;

    final MemorySegment zero;

    /**
     * Opens device {@code ordinal}: retains its primary context, loads the kernels, binds cuBLAS.
     *
     * @throws CudaCallException if the driver refuses
     */
    CudaDevice(int ordinal, boolean tf32, boolean realFaults, String cublasLibrary) {
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
            for (int code = 0; code <= 1000; code++) {
                String text = driver.describe(code);
                if (!text.startsWith("CUDA error ")) {
                    errorTexts.put(code, text);
                }
            }
            MemorySegment ctx = arena.allocate(ADDRESS);
            check(
                    invoke(() -> (int) driver.cuDevicePrimaryCtxRetain.invokeExact(ctx, device)),
                    "cuDevicePrimaryCtxRetain");
            this.context = ctx.get(ADDRESS, 0);
            makeCurrent();
            keepPoolMemory();
            this.module = loadModule();
            for (String f : KERNELS) {
                MemorySegment fn = arena.allocate(ADDRESS);
                MemorySegment fname = arena.allocateFrom(f);
                check(
                        invoke(() -> (int) driver.cuModuleGetFunction.invokeExact(fn, module, fname)),
                        "cuModuleGetFunction " + f);
                functions.put(f, fn.get(ADDRESS, 0));
            }
            List<String> tried = new ArrayList<>();
            this.cublas = Cublas.load(cublasLibrary, tried).orElse(null);
            this.cublasNote = cublas != null
                    ? cublas.library + (tf32 ? " (TF32 on)" : " (FP32)")
                    : "not found (tried " + tried + "); matmul runs Backplane's own tiled kernel";
            this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
            this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private int attribute(MemorySegment out, int attribute) {
        check(
                invoke(() -> (int) driver.cuDeviceGetAttribute.invokeExact(out, attribute, device)),
                "cuDeviceGetAttribute");
        return out.get(JAVA_INT, 0);
    }

    /** Keeps freed memory in the device's pool instead of returning it to the driver at every sync. */
    private void keepPoolMemory() {
        MemorySegment pool = arena.allocate(ADDRESS);
        check(
                invoke(() -> (int) driver.cuDeviceGetDefaultMemPool.invokeExact(pool, device)),
                "cuDeviceGetDefaultMemPool");
        MemorySegment threshold = arena.allocateFrom(JAVA_LONG, Long.MAX_VALUE);
        MemorySegment p = pool.get(ADDRESS, 0);
        check(
                invoke(() -> (int) driver.cuMemPoolSetAttribute.invokeExact(
                        p, Driver.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, threshold)),
                "cuMemPoolSetAttribute");
    }

    private MemorySegment loadModule() {
        byte[] ptx;
        try (InputStream in = CudaDevice.class.getResourceAsStream(PTX)) {
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
        check(
                invoke(() -> (int) driver.cuModuleLoadData.invokeExact(out, image)),
                "cuModuleLoadData (JIT of the kernels' PTX)");
        return out.get(ADDRESS, 0);
    }

    /** Makes the context current on the calling thread (every thread that calls CUDA). */
    void makeCurrent() {
        check(invoke(() -> (int) driver.cuCtxSetCurrent.invokeExact(context)), "cuCtxSetCurrent");
    }

    MemorySegment function(String fn) {
        return functions.get(fn);
    }

    /**
     * Frees the module and the arena once every stream is closed and no callback can come. The
     * primary context stays retained: destroying it after completion upcalls had run on the
     * driver's callback thread left the JVM unable to exit (H100, driver 580: System.exit and
     * Runtime.halt both hung; keeping it, the process exits at once). So the context lives until the
     * process ends; everything this device created in it is freed.
     */
    void close(Runnable drainMemory) {
        try {
            makeCurrent();
            // Waits until every callback has returned into the driver, so that closing the arena
            // cannot free the upcall stub under a driver thread.
            invoke(() -> (int) driver.cuCtxSynchronize.invokeExact());
            drainMemory.run();
            invoke(() -> (int) driver.cuModuleUnload.invokeExact(module));
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
            throw new CudaCallException(result, what, describe(result));
        }
    }

    /**
     * CUDA's name and text for a code ({@code "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access
     * was encountered"}), from the table read at start: safe in a stream callback, which may make
     * no CUDA call.
     */
    String describe(int result) {
        String text = errorTexts.get(result);
        return text != null ? text : "CUDA error " + result;
    }

    Map<String, String> details() {
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
