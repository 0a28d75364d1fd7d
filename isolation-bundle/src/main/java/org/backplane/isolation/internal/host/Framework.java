package org.backplane.isolation.internal.host;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

/** The OSGi side of {@link WorkerClasspath}: loaded only when the framework is there. */
final class Framework {
    private Framework() {}

    static Bundle bundle(Class<?> c) {
        return FrameworkUtil.getBundle(c);
    }

    /** The bundle's entries as a jar named after its symbolic name, version and revision. */
    static Path copy(Class<?> c, Path dir) throws IOException {
        Bundle b = FrameworkUtil.getBundle(c);
        Path jar = dir.resolve(b.getSymbolicName() + "-" + b.getVersion() + "-" + b.getLastModified() + ".jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Path partial = Files.createTempFile(dir, "bundle", ".part");
        try (OutputStream file = Files.newOutputStream(partial);
                JarOutputStream out = new JarOutputStream(file)) {
            Set<String> names = new HashSet<>(); // a fragment may repeat an entry of its host
            Enumeration<URL> entries = b.findEntries("/", "*", true);
            while (entries != null && entries.hasMoreElements()) {
                URL url = entries.nextElement();
                String name = url.getPath().startsWith("/") ? url.getPath().substring(1) : url.getPath();
                if (name.isEmpty() || name.endsWith("/") || !names.add(name)) {
                    continue;
                }
                out.putNextEntry(new JarEntry(name));
                try (InputStream in = url.openStream()) {
                    in.transferTo(out);
                }
                out.closeEntry();
            }
        }
        Files.move(partial, jar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return jar;
    }
}
