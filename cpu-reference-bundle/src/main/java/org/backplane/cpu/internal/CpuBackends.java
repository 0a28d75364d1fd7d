package org.backplane.cpu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.Shape;
import org.backplane.spi.BackendEngine;
import org.backplane.spi.BackendSettings;
import org.backplane.spi.ManagedBackend;
import org.backplane.spi.backend.Backends;

/**
 * Starts CPU backends in this process, for the OSGi component and for {@code CpuBackend.start} alike.
 * Nothing here needs the isolation bundle: a host without it runs the CPU backend in process
 * ({@link IsolatedCpuBackends} is the one class that starts it in a worker process).
 */
public final class CpuBackends {
    /** The {@code backend.id} of the default CPU backend. */
    public static final String ID = "cpu";

    public static final String FAST = "fast";
    public static final String SCALAR = "scalar";
    public static final String REFERENCE = "reference";

    private CpuBackends() {}

    /**
     * Starts a CPU backend.
     *
     * @param parallelism threads one op may use, the stream's worker included; 0 means one per processor
     * @param kernels {@code fast}, {@code scalar} or {@code reference}
     * @throws IllegalArgumentException naming a bad parallelism or kernel path
     */
    public static ManagedBackend start(String id, int parallelism, String kernels, BackendSettings common) {
        Parts p = engine(parallelism, kernels);
        return Backends.start(id, p.device(), p.capabilities(), p.engine(), common);
    }

    /** An engine with what it runs on and what it can do. */
    record Parts(BackendEngine engine, DeviceInfo device, Capabilities capabilities) {}

    /** The engine, with what it runs on and what it can do; in the host or in a worker process. */
    static Parts engine(int parallelism, String kernels) {
        int threads = threads(parallelism);
        String path = kernelPath(kernels);
        // The arrays live off the Java heap; like the JDK's direct buffers (-XX:MaxDirectMemorySize),
        // they may hold as much as the heap's maximum by default.
        long memory = Runtime.getRuntime().maxMemory();
        CpuBackendEngine engine = new CpuBackendEngine(threads, path, memory);
        long maxBytes = Math.min((Integer.MAX_VALUE - 8L) * Float.BYTES, memory);
        Capabilities caps = new Capabilities(
                EnumSet.allOf(DType.class),
                maxBytes,
                Shape.MAX_RANK,
                false,
                engine.kernels().name());
        return new Parts(engine, device(threads, engine), caps);
    }

    /** The effective thread count of a configured parallelism (0: one per processor). */
    public static int threads(int parallelism) {
        if (parallelism < 0) {
            throw new IllegalArgumentException(
                    "parallelism must be 0 (one thread per processor) or more, not " + parallelism);
        }
        return parallelism == 0 ? Runtime.getRuntime().availableProcessors() : parallelism;
    }

    /** A configured kernel path, normalised. */
    public static String kernelPath(String kernels) {
        String k = kernels == null ? "" : kernels.trim().toLowerCase(Locale.ROOT);
        if (!k.equals(FAST) && !k.equals(SCALAR) && !k.equals(REFERENCE)) {
            throw new IllegalArgumentException(
                    "kernels must be 'fast', 'scalar' or 'reference', not '" + kernels + "'");
        }
        return k;
    }

    private static DeviceInfo device(int threads, CpuBackendEngine engine) {
        int cores = Runtime.getRuntime().availableProcessors();
        Map<String, String> details = new LinkedHashMap<>();
        details.put("kernels", engine.kernels().name());
        details.put("simd", engine.simd());
        details.put("array memory", engine.memory());
        details.put("matrix products", engine.products());
        details.put("threads per op", String.valueOf(threads));
        details.put("java", Runtime.version().toString());
        details.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return new DeviceInfo(
                cpuModel() + " (" + cores + " processors)",
                "host CPU",
                Runtime.getRuntime().maxMemory(),
                cores,
                details);
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: fall back to the architecture
        }
        return System.getProperty("os.arch");
    }
}
