package org.backplane.cpu.internal.kernels;

/**
 * Whether this runtime can use the Vector API. The module {@code jdk.incubator.vector} must be in
 * the boot layer ({@code --add-modules jdk.incubator.vector}) and, inside OSGi, its package must be
 * exported by the system bundle ({@code org.osgi.framework.system.packages.extra}) so that this
 * bundle's optional import resolves. Otherwise the scalar fallback runs.
 */
final class VectorAvailability {
    private VectorAvailability() {}

    static boolean available() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return false;
        }
        try {
            Class.forName("jdk.incubator.vector.FloatVector", false, VectorAvailability.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Only called when {@link #available()}: loading {@link VectorSimd} needs the module. */
    static Simd newVectorSimd() {
        return new VectorSimd();
    }
}
