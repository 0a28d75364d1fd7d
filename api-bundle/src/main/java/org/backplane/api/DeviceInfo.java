package org.backplane.api;

import java.util.Map;
import java.util.Objects;

/**
 * What a backend runs on.
 *
 * @param name the device's name ({@code "NVIDIA H100 80GB HBM3"}, {@code "AMD EPYC (2 cores)"})
 * @param vendor who made it
 * @param memoryBytes memory available to arrays, in bytes
 * @param computeUnits cores, streaming multiprocessors or GPU cores
 * @param details further facts, such as driver version or instruction sets
 */
public record DeviceInfo(String name, String vendor, long memoryBytes, int computeUnits, Map<String, String> details) {
    public DeviceInfo {
        Objects.requireNonNull(name, "name");
        vendor = vendor == null ? "" : vendor;
        details = details == null ? Map.of() : Map.copyOf(details);
    }
}
