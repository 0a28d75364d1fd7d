package org.backplane.benchmarks;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a CPU figure depends on, for every results file: the processor, and the vector width this
 * JVM's code runs at (HotSpot's {@code UseAVX} can make an AVX-512 machine run 256- or 128-bit code).
 */
final class Machine {
    private Machine() {}

    /** The processor's model name, with its family and model where the name says little ("AMD EPYC"). */
    static String cpuModel() {
        String name = System.getProperty("os.arch");
        String family = null;
        String model = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                String value = line.substring(line.indexOf(':') + 1).trim();
                if (line.startsWith("model name") && name.equals(System.getProperty("os.arch"))) {
                    name = value;
                } else if (line.startsWith("cpu family") && family == null) {
                    family = value;
                } else if (line.startsWith("model\t") && model == null) {
                    model = value;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture is all we know
        }
        return family == null ? name : name + " (family " + family + " model " + model + ")";
    }

    /** The float vector width the Vector API uses here, and HotSpot's {@code UseAVX} on x86. */
    static String vectorWidth() {
        String bits = "no Vector API";
        try {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
                Object species = Class.forName("jdk.incubator.vector.FloatVector")
                        .getField("SPECIES_PREFERRED")
                        .get(null);
                bits = Class.forName("jdk.incubator.vector.VectorSpecies") // the exported interface's method
                                .getMethod("vectorBitSize")
                                .invoke(species)
                        + "-bit vectors";
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            bits = "Vector API unreadable (" + e + ")";
        }
        try {
            HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return bits + " (UseAVX=" + hotspot.getVMOption("UseAVX").getValue() + ")";
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            return bits; // not x86, or not HotSpot
        }
    }
}
