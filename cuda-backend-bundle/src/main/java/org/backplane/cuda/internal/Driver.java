package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings to the CUDA driver API ({@code libcuda.so.1}), loaded by name through
 * {@link SymbolLookup#libraryLookup}, which is not tied to a class loader, so a bundle update never
 * meets "library already loaded in another class loader". One instance per backend engine.
 *
 * <p>The library itself is never unloaded: {@code cuInit} starts driver threads that outlive every
 * context, and unloading libcuda under them crashed the JVM (SIGSEGV inside libcuda) on an H100. So
 * the lookup uses the global arena; a second load only raises the loader's reference count.
 */
final class Driver {
    static final String LIBRARY = "libcuda.so.1";

    static final int CU_STREAM_NON_BLOCKING = 1;
    static final int CU_EVENT_DISABLE_TIMING = 2;
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;

    private static final Linker LINKER = Linker.nativeLinker();

    final MethodHandle cuInit;
    final MethodHandle cuDriverGetVersion;
    final MethodHandle cuDeviceGetCount;
    final MethodHandle cuDeviceGet;
    final MethodHandle cuDeviceGetName;
    final MethodHandle cuDeviceTotalMem;
    final MethodHandle cuDeviceGetAttribute;
    final MethodHandle cuDevicePrimaryCtxRetain;
    final MethodHandle cuCtxSetCurrent;
    final MethodHandle cuCtxSynchronize;
    final MethodHandle cuModuleLoadData;
    final MethodHandle cuModuleUnload;
    final MethodHandle cuModuleGetFunction;
    final MethodHandle cuStreamCreate;
    final MethodHandle cuStreamDestroy;
    final MethodHandle cuStreamSynchronize;
    final MethodHandle cuStreamQuery;
    final MethodHandle cuStreamAddCallback;
    final MethodHandle cuStreamWaitEvent;
    final MethodHandle cuEventCreate;
    final MethodHandle cuEventRecord;
    final MethodHandle cuEventQuery;
    final MethodHandle cuEventDestroy;
    final MethodHandle cuMemAllocAsync;
    final MethodHandle cuMemFreeAsync;
    final MethodHandle cuMemHostAlloc;
    final MethodHandle cuMemFreeHost;
    final MethodHandle cuDeviceGetDefaultMemPool;
    final MethodHandle cuMemPoolSetAttribute;
    final MethodHandle cuMemcpyHtoDAsync;
    final MethodHandle cuMemcpyDtoHAsync;
    /** Same copies, allowed to read and write Java heap arrays directly (short copies only: they pause the GC). */
    final MethodHandle cuMemcpyHtoDAsyncHeap;

    final MethodHandle cuMemcpyDtoHAsyncHeap;
    final MethodHandle cuLaunchKernel;
    final MethodHandle cuGetErrorName;
    final MethodHandle cuGetErrorString;

    /**
     * @throws IllegalStateException if the library cannot be loaded or lacks a function
     */
    Driver() {
        SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        cuInit = bind(lib, "cuInit", JAVA_INT);
        cuDriverGetVersion = bind(lib, "cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = bind(lib, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = bind(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = bind(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = bind(lib, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDeviceGetAttribute = bind(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = bind(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuCtxSetCurrent = bind(lib, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = bind(lib, "cuCtxSynchronize");
        cuModuleLoadData = bind(lib, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleUnload = bind(lib, "cuModuleUnload", ADDRESS);
        cuModuleGetFunction = bind(lib, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuStreamCreate = bind(lib, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = bind(lib, "cuStreamDestroy_v2", ADDRESS);
        cuStreamSynchronize = bind(lib, "cuStreamSynchronize", ADDRESS);
        cuStreamQuery = bind(lib, "cuStreamQuery", ADDRESS);
        cuStreamAddCallback = bind(lib, "cuStreamAddCallback", ADDRESS, ADDRESS, ADDRESS, JAVA_INT);
        cuStreamWaitEvent = bind(lib, "cuStreamWaitEvent", ADDRESS, ADDRESS, JAVA_INT);
        cuEventCreate = bind(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = bind(lib, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventQuery = bind(lib, "cuEventQuery", ADDRESS);
        cuEventDestroy = bind(lib, "cuEventDestroy_v2", ADDRESS);
        cuMemAllocAsync = bind(lib, "cuMemAllocAsync", ADDRESS, JAVA_LONG, ADDRESS);
        cuMemFreeAsync = bind(lib, "cuMemFreeAsync", JAVA_LONG, ADDRESS);
        cuMemHostAlloc = bind(lib, "cuMemHostAlloc", ADDRESS, JAVA_LONG, JAVA_INT);
        cuMemFreeHost = bind(lib, "cuMemFreeHost", ADDRESS);
        cuDeviceGetDefaultMemPool = bind(lib, "cuDeviceGetDefaultMemPool", ADDRESS, JAVA_INT);
        cuMemPoolSetAttribute = bind(lib, "cuMemPoolSetAttribute", ADDRESS, JAVA_INT, ADDRESS);
        cuMemcpyHtoDAsync = bind(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = bind(lib, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyHtoDAsyncHeap = bindCritical(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsyncHeap = bindCritical(lib, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuLaunchKernel = bind(
                lib,
                "cuLaunchKernel",
                ADDRESS,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                ADDRESS,
                ADDRESS,
                ADDRESS);
        cuGetErrorName = bind(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuGetErrorString = bind(lib, "cuGetErrorString", JAVA_INT, ADDRESS);
    }

    private static MethodHandle bind(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new IllegalStateException(
                        LIBRARY + " has no " + name + " (the NVIDIA driver is too old; CUDA 11.2 or newer is needed)"));
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    private static MethodHandle bindCritical(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow();
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args), Linker.Option.critical(true));
    }

    /** {@code "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered"}. */
    String describe(int result) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(ADDRESS);
            MemorySegment text = a.allocate(ADDRESS);
            String n = (int) cuGetErrorName.invokeExact(result, name) == 0 ? cString(name) : "CUDA error " + result;
            String t = (int) cuGetErrorString.invokeExact(result, text) == 0 ? cString(text) : "";
            return t.isEmpty() ? n : n + ": " + t;
        } catch (Throwable t) {
            return "CUDA error " + result;
        }
    }

    private static String cString(MemorySegment holder) {
        return holder.get(ADDRESS, 0).reinterpret(256).getString(0);
    }
}
