package org.backplane.metal;

import java.util.Objects;
import org.backplane.spi.BackendSettings;

/**
 * How a Metal backend runs.
 *
 * @param library path of the Metal library to load; empty for Metal.framework on a Mac. On Linux,
 *     where there is no Metal, the Metal simulator's path (tests only)
 * @param common batching, timeouts and fault injection, shared with every backend
 */
public record MetalSettings(String library, BackendSettings common) {
    public MetalSettings {
        library = library == null ? "" : library.trim();
        Objects.requireNonNull(common, "common");
    }

    /**
     * The system's Metal, or on Linux the library named by the {@code backplane.metal.library}
     * property; no fault injection.
     */
    public static MetalSettings defaults() {
        return new MetalSettings(System.getProperty("backplane.metal.library", ""), BackendSettings.DEFAULT);
    }

    public MetalSettings withCommon(BackendSettings settings) {
        return new MetalSettings(library, settings);
    }

    public MetalSettings withLibrary(String path) {
        return new MetalSettings(path, common);
    }
}
