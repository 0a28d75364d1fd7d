package org.backplane.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.backplane.api.Capabilities;
import org.backplane.api.DType;
import org.backplane.api.DeviceInfo;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.Shape;
import org.backplane.cpu.internal.CpuBackendEngine;
import org.backplane.spi.BackendCore;
import org.backplane.spi.DelegatingExecutionBackend;

/**
 * A running CPU backend instance. It owns its worker threads and compute pool; {@link #close()}
 * stops it safely (S11). Inside OSGi, use the {@code ExecutionBackend} service instead.
 */
public final class CpuBackend extends DelegatingExecutionBackend implements AutoCloseable {
    /** The {@code backend.id} of the default CPU backend. */
    public static final String ID = "cpu";

    private final BackendCore core;
    private final CpuBackendEngine engine;

    private CpuBackend(CpuSettings settings) {
        this.engine = new CpuBackendEngine(settings.threads(), settings.kernels());
        long maxBytes = Math.min((Integer.MAX_VALUE - 8L) * Float.BYTES, Runtime.getRuntime().maxMemory());
        Capabilities caps = new Capabilities(Set.of(DType.FLOAT32), maxBytes, Shape.MAX_RANK, false, engine.kernels().name());
        this.core = new BackendCore(settings.id(), device(settings, engine), caps, engine, settings.common());
    }

    /** Starts a CPU backend with the given settings. */
    public static CpuBackend start(CpuSettings settings) {
        return new CpuBackend(settings);
    }

    /** Starts a CPU backend with {@link CpuSettings#defaults()}. */
    public static CpuBackend start() {
        return start(CpuSettings.defaults());
    }

    @Override
    protected ExecutionBackend delegate() {
        return core;
    }

    /** Stops the backend: see {@link BackendCore#stop()}. */
    @Override
    public void close() {
        core.stop();
    }

    private static DeviceInfo device(CpuSettings settings, CpuBackendEngine engine) {
        int cores = Runtime.getRuntime().availableProcessors();
        Map<String, String> details = new LinkedHashMap<>();
        details.put("kernels", engine.kernels().name());
        details.put("simd", engine.simd());
        details.put("threads per op", String.valueOf(settings.threads()));
        details.put("java", Runtime.version().toString());
        details.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return new DeviceInfo(cpuModel() + " (" + cores + " processors)", "host CPU", Runtime.getRuntime().maxMemory(), cores, details);
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
