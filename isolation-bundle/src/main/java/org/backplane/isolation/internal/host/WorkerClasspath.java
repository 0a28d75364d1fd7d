package org.backplane.isolation.internal.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
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

    /**
     * The class path of {@code classes}, and of the jars {@code resources} come from (found through
     * the last class's loader; inside OSGi the bundle's copy holds its fragments' entries already).
     */
    static List<Path> of(Path privateDir, List<String> resources, Class<?>... classes) {
        Set<Path> path = new LinkedHashSet<>();
        for (Class<?> c : classes) {
            path.add(location(c, privateDir));
        }
        Class<?> owner = classes[classes.length - 1];
        if (!BundleJars.isBundleClass(owner)) {
            for (String resource : resources) {
                Path root = rootOf(owner.getClassLoader().getResource(resource), resource);
                if (root != null) {
                    path.add(root);
                }
            }
        }
        return List.copyOf(path);
    }

    /**
     * The class path entry a resource was found in: the jar ({@code jar:file:/x.jar!/name}) or the
     * folder ({@code file:/dir/name}); null if it was not found or comes from elsewhere.
     */
    private static Path rootOf(URL url, String resource) {
        if (url == null) {
            return null;
        }
        try {
            return switch (url.getProtocol()) {
                case "jar" -> {
                    String spec = url.getPath();
                    yield Path.of(new URI(spec.substring(0, spec.indexOf("!/"))));
                }
                case "file" -> {
                    Path file = Path.of(url.toURI());
                    Path root = file;
                    for (int depth = resource.split("/", -1).length; depth > 0 && root != null; depth--) {
                        root = root.getParent();
                    }
                    yield root;
                }
                default -> null;
            };
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
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
