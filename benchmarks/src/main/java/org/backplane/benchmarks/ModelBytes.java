package org.backplane.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/** The bytes of a model's .onnx file, for the baselines, from where Backplane reads it (a file, a URL, an archive). */
final class ModelBytes {
    private ModelBytes() {}

    static byte[] onnx(String where) throws IOException {
        try (InputStream in = open(where)) {
            if (where.endsWith(".onnx")) {
                return in.readAllBytes();
            }
            try (ZipInputStream zip = new ZipInputStream(in)) {
                for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                    if (e.getName().endsWith(".onnx")) {
                        return zip.readAllBytes();
                    }
                }
            }
        }
        throw new IllegalArgumentException(where + " holds no .onnx file");
    }

    private static InputStream open(String where) throws IOException {
        return where.matches("^[a-zA-Z][a-zA-Z0-9+.-]+:.*")
                ? URI.create(where).toURL().openStream()
                : Files.newInputStream(Path.of(where));
    }
}
