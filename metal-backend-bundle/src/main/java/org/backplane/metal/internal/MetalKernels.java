package org.backplane.metal.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The backend's MSL kernels ({@code backplane_kernels.metal}): compiled at first use with fast math
 * off (IEEE semantics, NaN propagation, Java's max/min), pipeline states cached. A compile failure
 * is not cached: a later call (after the stream's reset) compiles again.
 */
final class MetalKernels {
    private static final String KERNELS = "backplane_kernels.metal";

    private final ObjcRuntime rt;
    private final MemorySegment device;
    private final String source;
    private MemorySegment library = MemorySegment.NULL;
    private final Map<String, Pipeline> pipelines = new ConcurrentHashMap<>();

    /** A compiled kernel and the most threads one of its threadgroups may have. */
    record Pipeline(MemorySegment state, long maxThreads) {}

    /** A kernel library that did not compile: Metal's compiler text, unchanged. */
    static final class CompileException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final long code;
        final String text;

        CompileException(long code, String text) {
            super("the Metal kernels did not compile: " + text);
            this.code = code;
            this.text = text;
        }
    }

    MetalKernels(ObjcRuntime rt, MemorySegment device) {
        this.rt = rt;
        this.device = device;
        try (InputStream in = MetalKernels.class.getResourceAsStream(KERNELS)) {
            if (in == null) {
                throw new IllegalStateException(KERNELS + " is missing from the bundle");
            }
            this.source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + KERNELS, e);
        }
    }

    /**
     * The pipeline state of a kernel, compiling the source at first use. Call inside an autorelease
     * pool.
     *
     * @throws CompileException with Metal's compiler output
     */
    Pipeline pipeline(String kernel) {
        Pipeline p = pipelines.get(kernel);
        return p != null ? p : compile(kernel);
    }

    private synchronized Pipeline compile(String kernel) {
        Pipeline p = pipelines.get(kernel);
        if (p != null) {
            return p;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment errorOut = call.allocate(ADDRESS);
            if (library.equals(MemorySegment.NULL)) {
                MemorySegment options = rt.id(rt.id(rt.cls("MTLCompileOptions"), "alloc"), "init");
                rt.sendBool(options, "setFastMathEnabled:", false); // IEEE semantics: NaN, -0, Java's max/min
                MemorySegment text = rt.newString(source, call);
                MemorySegment lib;
                try {
                    lib = rt.id(device, "newLibraryWithSource:options:error:", text, options, errorOut);
                } finally {
                    rt.release(text);
                    rt.release(options);
                }
                if (lib.equals(MemorySegment.NULL)) {
                    throw compileError(errorOut.get(ADDRESS, 0), "newLibraryWithSource returned nil");
                }
                library = lib;
            }
            MemorySegment fname = rt.newString(kernel, call);
            MemorySegment function = rt.id(library, "newFunctionWithName:", fname);
            rt.release(fname);
            if (function.equals(MemorySegment.NULL)) {
                throw new CompileException(0, "the compiled library has no kernel " + kernel);
            }
            errorOut.set(ADDRESS, 0, MemorySegment.NULL);
            MemorySegment state = rt.id(device, "newComputePipelineStateWithFunction:error:", function, errorOut);
            rt.release(function);
            if (state.equals(MemorySegment.NULL)) {
                throw compileError(errorOut.get(ADDRESS, 0), "no pipeline state for " + kernel);
            }
            p = new Pipeline(state, rt.word(state, "maxTotalThreadsPerThreadgroup"));
            pipelines.put(kernel, p);
            return p;
        }
    }

    private CompileException compileError(MemorySegment error, String fallback) {
        if (error.equals(MemorySegment.NULL)) {
            return new CompileException(0, fallback);
        }
        return new CompileException(rt.word(error, "code"), rt.string(rt.id(error, "localizedDescription")));
    }

    /** Releases the library and pipeline states; inside an autorelease pool, after the last stream closed. */
    void release() {
        for (Pipeline p : pipelines.values()) {
            rt.release(p.state());
        }
        rt.release(library);
    }
}
