package org.backplane.isolation.internal.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The worker's class path: the jar or folder each needed class comes from. Outside OSGi that is the
 * class's code source; inside OSGi a bundle's location may be no file at all ({@code mvn:} in
 * Karaf), so the bundle's entries are copied into a jar in the worker's private directory.
 */
final class WorkerClasspath {
    private WorkerClasspath() {}

    static List<Path> of(Path privateDir, Class<?>... classes) {
        Set<Path> path = new LinkedHashSet<>();
        for (Class<?> c : classes) {
            path.add(location(c, privateDir));
        }
        return List.copyOf(path);
    }

    private static Path location(Class<?> c, Path privateDir) {
        if (BundleJars.isBundleClass(c)) {
            return BundleJars.copy(c, privateDir);
        }
        CodeSource source = c.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new IllegalStateException(
                    "cannot tell where " + c.getName() + " was loaded from, so a worker " + "process cannot load it");
        }
        try {
            Path p = Path.of(source.getLocation().toURI());
            if (!Files.exists(p)) {
                throw new IllegalStateException(c.getName() + " comes from " + p + ", which does not exist");
            }
            return p;
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new IllegalStateException(
                    c.getName() + " comes from " + source.getLocation() + ", which a worker process cannot read", e);
        }
    }

    /** Copies a bundle's entries into a jar; only touched when the class came from a bundle. */
    private static final class BundleJars {
        private static final boolean OSGI = osgiPresent();

        private static boolean osgiPresent() {
            try {
                Class.forName("org.osgi.framework.FrameworkUtil", false, WorkerClasspath.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }

        static boolean isBundleClass(Class<?> c) {
            return OSGI && Framework.bundle(c) != null;
        }

        static Path copy(Class<?> c, Path dir) {
            try {
                return Framework.copy(c, dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot copy the bundle of " + c.getName() + " for the worker", e);
            }
        }
    }
}
