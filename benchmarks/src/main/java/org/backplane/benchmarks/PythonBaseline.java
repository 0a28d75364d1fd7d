package org.backplane.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs a baseline script shipped as a resource of this module with a Python interpreter; returns its stdout. */
final class PythonBaseline {
    private PythonBaseline() {}

    /**
     * @param needs what the script needs, for the error message ("numpy", "torch with CUDA")
     */
    static String run(String python, String resource, String needs, List<String> args)
            throws IOException, InterruptedException {
        Path script = Files.createTempFile(resource.replace(".py", ""), ".py");
        try {
            try (InputStream in = PythonBaseline.class.getResourceAsStream("/" + resource)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + resource + " is missing from the benchmarks jar");
                }
                Files.write(script, in.readAllBytes());
            }
            List<String> command = new ArrayList<>(List.of(python, script.toString()));
            command.addAll(args);
            Process p = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException(resource + " failed with status " + p.exitValue() + " (is " + needs
                        + " installed for " + python + "?)");
            }
            return out;
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
