package org.backplane.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * FFM bindings to cuBLAS ({@code libcublas}), used for matrix products where it is installed; where
 * it is not, the backend runs its own tiled kernel and says so in the device details. cuBLAS comes
 * with the CUDA toolkit (or the {@code nvidia-cublas} wheel), not with the driver.
 */
final class Cublas {
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int DEFAULT_MATH = 0;
    static final int TF32_TENSOR_OP_MATH = 3;
    /** {@code cudaDataType}: CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF. */
    static final int R_32F = 0;

    static final int R_16F = 2;
    static final int R_16BF = 14;
    /** {@code cublasComputeType_t}: float32 accumulation, or with TF32 tensor cores for float32 inputs. */
    static final int COMPUTE_32F = 68;

    static final int COMPUTE_32F_FAST_TF32 = 77;
    static final int GEMM_DEFAULT = -1;

    private static final Linker LINKER = Linker.nativeLinker();

    final String library;
    final MethodHandle create;
    final MethodHandle destroy;
    final MethodHandle setStream;
    final MethodHandle setMathMode;
    final MethodHandle getVersion;
    /**
     * {@code cublasGemmStridedBatchedEx}: one entry point for every type. float16 and bfloat16 run
     * on tensor cores with float32 accumulation (cuBLAS picks them for these types on its own).
     */
    final MethodHandle gemmStridedBatchedEx;
    /** {@code cublasGemmEx}: the same for one product, with less host overhead per call. */
    final MethodHandle gemmEx;

    private Cublas(String library, SymbolLookup lib) {
        this.library = library;
        create = bind(lib, "cublasCreate_v2", ADDRESS);
        destroy = bind(lib, "cublasDestroy_v2", ADDRESS);
        setStream = bind(lib, "cublasSetStream_v2", ADDRESS, ADDRESS);
        setMathMode = bind(lib, "cublasSetMathMode", ADDRESS, JAVA_INT);
        getVersion = bind(lib, "cublasGetVersion_v2", ADDRESS, ADDRESS);
        gemmStridedBatchedEx = bind(
                lib,
                "cublasGemmStridedBatchedEx",
                ADDRESS, // handle
                JAVA_INT, // transa
                JAVA_INT, // transb
                JAVA_INT, // m
                JAVA_INT, // n
                JAVA_INT, // k
                ADDRESS, // alpha (host)
                JAVA_LONG, // A
                JAVA_INT, // Atype
                JAVA_INT, // lda
                JAVA_LONG, // strideA
                JAVA_LONG, // B
                JAVA_INT, // Btype
                JAVA_INT, // ldb
                JAVA_LONG, // strideB
                ADDRESS, // beta (host)
                JAVA_LONG, // C
                JAVA_INT, // Ctype
                JAVA_INT, // ldc
                JAVA_LONG, // strideC
                JAVA_INT, // batchCount
                JAVA_INT, // computeType
                JAVA_INT); // algo
        gemmEx = bindGemmEx(lib);
    }

    private static MethodHandle bindGemmEx(SymbolLookup lib) {
        return bind(
                lib,
                "cublasGemmEx",
                ADDRESS, // handle
                JAVA_INT, // transa
                JAVA_INT, // transb
                JAVA_INT, // m
                JAVA_INT, // n
                JAVA_INT, // k
                ADDRESS, // alpha (host)
                JAVA_LONG, // A
                JAVA_INT, // Atype
                JAVA_INT, // lda
                JAVA_LONG, // B
                JAVA_INT, // Btype
                JAVA_INT, // ldb
                ADDRESS, // beta (host)
                JAVA_LONG, // C
                JAVA_INT, // Ctype
                JAVA_INT, // ldc
                JAVA_INT, // computeType
                JAVA_INT); // algo
    }

    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new IllegalStateException("cuBLAS has no " + name));
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    /** A cuBLAS status as the CUDA error the backend reports (allocation failures are out of memory). */
    static void check(int status, String what) {
        if (status != 0) {
            int code = switch (status) {
                case 3 -> CudaError.OUT_OF_MEMORY; // CUBLAS_STATUS_ALLOC_FAILED
                case 7 -> CudaError.INVALID_VALUE; // CUBLAS_STATUS_INVALID_VALUE
                default -> 999;
            };
            throw new CudaCallException(code, what, "CUBLAS_STATUS " + status);
        }
    }

    /**
     * Loads cuBLAS from {@code configured} if given, else from the first of the usual places that
     * has it; empty (with the places tried in {@code tried}) if none does.
     */
    static Optional<Cublas> load(String configured, List<String> tried) {
        Arena arena = Arena.global(); // never unloaded, like libcuda: its threads and handles outlive a backend
        for (String candidate : candidates(configured)) {
            try {
                SymbolLookup lib = candidate.contains("/")
                        ? SymbolLookup.libraryLookup(Path.of(candidate), arena)
                        : SymbolLookup.libraryLookup(candidate, arena);
                return Optional.of(new Cublas(candidate, lib));
            } catch (IllegalArgumentException | IllegalStateException e) {
                tried.add(candidate);
            }
        }
        return Optional.empty();
    }

    private static List<String> candidates(String configured) {
        List<String> names = new ArrayList<>();
        if (configured != null && !configured.isBlank()) {
            names.add(configured);
            return names;
        }
        String env = System.getenv("BACKPLANE_CUBLAS");
        if (env != null && !env.isBlank()) {
            names.add(env);
        }
        for (String dir : new String[] {
            System.getenv("CUDA_HOME"), "/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-12"
        }) {
            if (dir == null) {
                continue;
            }
            for (String lib : new String[] {"lib64", "lib", "targets/x86_64-linux/lib"}) {
                for (String v : new String[] {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
                    Path p = Path.of(dir, lib, v);
                    if (Files.exists(p)) {
                        names.add(p.toString());
                    }
                }
            }
        }
        names.add("libcublas.so.13"); // through the loader's search path
        names.add("libcublas.so.12");
        return names;
    }
}
