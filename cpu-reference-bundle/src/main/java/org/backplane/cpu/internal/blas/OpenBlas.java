package org.backplane.cpu.internal.blas;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * OpenBLAS — the library numpy uses, built with {@code DYNAMIC_ARCH} so that it picks its kernels for
 * the CPU it finds — called through FFM for the CPU backend's matrix products. Its libraries come on
 * the class path at bytedeco's resource paths ({@code org/bytedeco/openblas/<platform>/}): from the
 * {@code cpu-blas-<platform>} fragment inside OSGi, or that fragment or
 * {@code org.bytedeco:openblas:<version>:<platform>} on a plain class path. The first load in a
 * process copies them into a private temporary directory, loads them by path (the GCC runtime first,
 * then OpenBLAS) to stay loaded for the life of the process ({@link ResidentLibraries}), and deletes
 * the files again; later loads — a restarted or redeployed backend — find them loaded, by soname.
 * OpenBLAS runs on one thread per call: the backend spreads a product over its own compute pool, the
 * one pool all streams share. One per backend instance, closed at the backend's stop.
 */
public final class OpenBlas implements AutoCloseable {
    private static final String PREFIX = "org/bytedeco/openblas/";
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private final ResidentLibraries dl;
    /** This instance's references to the libraries, given back at {@link #close}. */
    private final List<MemorySegment> handles;

    private final MethodHandle sgemm;
    private final String description;

    private OpenBlas(ResidentLibraries dl, List<MemorySegment> handles, MethodHandle sgemm, String description) {
        this.dl = dl;
        this.handles = List.copyOf(handles);
        this.sgemm = sgemm;
        this.description = description;
    }

    /** Why OpenBLAS could not be loaded here. */
    public static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The libraries of a platform, in the order they must be loaded; empty where none is packaged. */
    static List<String> libraries(String platform) {
        return switch (platform) {
            case "linux-x86_64" -> List.of("libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");
            case "linux-arm64" -> List.of("libgcc_s.so.1", "libgfortran.so.5", "libopenblas.so.0");
            default -> List.of();
        };
    }

    /** bytedeco's name for this machine's platform. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux")
                ? "linux"
                : os.startsWith("mac") ? "macosx" : os.startsWith("windows") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "arm64" : arch;
        return o + "-" + a;
    }

    /** The resource the worker of an isolated backend needs on its class path for this platform, if any. */
    public static List<String> resources() {
        String platform = platform();
        return libraries(platform).stream()
                .map(l -> PREFIX + platform + "/" + l)
                .toList();
    }

    /**
     * Loads OpenBLAS from {@code loader}'s class path.
     *
     * @throws Unavailable saying why not (no library for this platform, not on the class path, a
     *     failed load, native access denied)
     */
    public static OpenBlas load(ClassLoader loader) throws Unavailable {
        String platform = platform();
        List<String> libraries = libraries(platform);
        if (libraries.isEmpty()) {
            throw new Unavailable("this build packages no OpenBLAS for " + platform, null);
        }
        List<URL> sources = new ArrayList<>();
        for (String name : libraries) {
            URL url = loader.getResource(PREFIX + platform + "/" + name);
            if (url == null) {
                throw new Unavailable(
                        "OpenBLAS for " + platform + " is not on the class path (" + PREFIX + platform + "/" + name
                                + " is missing; add org.backplane:cpu-blas-" + platform
                                + ", or org.bytedeco:openblas:0.3.31-1.5.13:" + platform + ")",
                        null);
            }
            sources.add(url);
        }
        ResidentLibraries dl;
        try {
            dl = new ResidentLibraries();
        } catch (RuntimeException e) {
            throw new Unavailable("OpenBLAS for " + platform + " cannot be loaded here: " + e.getMessage(), e);
        }
        List<MemorySegment> handles = new ArrayList<>();
        Path dir = null;
        try {
            for (int i = 0; i < libraries.size(); i++) {
                String soname = libraries.get(i);
                var loaded = dl.loaded(soname);
                if (loaded.isPresent()) {
                    handles.add(loaded.get());
                    continue;
                }
                if (dir == null) {
                    dir = privateDirectory();
                }
                Path file = dir.resolve(soname);
                try (InputStream in = sources.get(i).openStream()) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
                handles.add(dl.loadResident(file));
            }
            SymbolLookup lookup = dl.symbols(handles.getLast());
            Linker linker = Linker.nativeLinker();
            MethodHandle sgemm = linker.downcallHandle(
                    lookup.find("cblas_sgemm").orElseThrow(() -> new IllegalStateException("no cblas_sgemm")),
                    FunctionDescriptor.ofVoid(
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_FLOAT,
                            ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_FLOAT,
                            ValueLayout.ADDRESS,
                            ValueLayout.JAVA_INT));
            MethodHandle threads = linker.downcallHandle(
                    lookup.find("openblas_set_num_threads").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
            threads.invokeExact(1); // the backend's pool spreads the work; OpenBLAS's own would oversubscribe
            MethodHandle config = linker.downcallHandle(
                    lookup.find("openblas_get_config").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS));
            String described = ((MemorySegment) config.invokeExact())
                    .reinterpret(256)
                    .getString(0)
                    .trim();
            return new OpenBlas(dl, handles, sgemm, "OpenBLAS (" + described + ", " + platform + ")");
        } catch (Throwable t) {
            handles.forEach(dl::release);
            throw new Unavailable("OpenBLAS for " + platform + " did not load: " + t, t);
        } finally {
            deleteQuietly(dir); // loaded libraries stay mapped; the files are not needed any more
        }
    }

    private static Path privateDirectory() throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        return posix
                ? Files.createTempDirectory(
                        "backplane-openblas-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                : Files.createTempDirectory("backplane-openblas-");
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    p.toFile().deleteOnExit(); // a loaded library cannot be deleted everywhere (Windows)
                }
            }
        } catch (IOException e) {
            // a temporary directory the system cleans up
        }
    }

    /** Which library runs the products, for the backend's device details. */
    public String description() {
        return description;
    }

    /**
     * {@code C = op(A) op(B)} (or {@code C += ...} when {@code accumulate}), row-major float32, on the
     * calling thread; offsets in elements.
     */
    public void sgemm(
            boolean transA,
            boolean transB,
            int m,
            int n,
            int k,
            MemorySegment a,
            long ao,
            int lda,
            MemorySegment b,
            long bo,
            int ldb,
            MemorySegment c,
            long co,
            int ldc,
            boolean accumulate) {
        try {
            sgemm.invokeExact(
                    ROW_MAJOR,
                    transA ? TRANS : NO_TRANS,
                    transB ? TRANS : NO_TRANS,
                    m,
                    n,
                    k,
                    1f,
                    a.asSlice(ao * Float.BYTES),
                    lda,
                    b.asSlice(bo * Float.BYTES),
                    ldb,
                    accumulate ? 1f : 0f,
                    c.asSlice(co * Float.BYTES),
                    ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /**
     * Gives back this instance's references to the libraries (at the backend's stop). They stay
     * loaded: the next backend started in this process uses them as they are.
     */
    @Override
    public void close() {
        handles.forEach(dl::release);
    }
}
