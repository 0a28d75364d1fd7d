package org.backplane.isolation.internal.host;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Where a backend's workers keep their socket, staging files, copied jars and logs: a directory only
 * the host's user can open ({@code rwx------}), on {@code /dev/shm} where it exists (staging files
 * then live in memory), removed when the backend stops.
 */
final class PrivateDirectory implements AutoCloseable {
    private final Path path;

    PrivateDirectory(String backendId) {
        Path base = Path.of("/dev/shm");
        if (!Files.isDirectory(base) || !Files.isWritable(base)) {
            base = Path.of(System.getProperty("java.io.tmpdir"));
        }
        try {
            this.path = Files.createTempDirectory(
                    base,
                    "backplane-" + backendId.replaceAll("[^A-Za-z0-9_-]", "_") + "-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a private directory for backend '" + backendId + "'", e);
        }
    }

    Path path() {
        return path;
    }

    Path resolve(String name) {
        return path.resolve(name);
    }

    @Override
    public void close() {
        try {
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.getLogger(PrivateDirectory.class.getName())
                    .log(System.Logger.Level.WARNING, "could not remove " + path + ": " + e);
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
