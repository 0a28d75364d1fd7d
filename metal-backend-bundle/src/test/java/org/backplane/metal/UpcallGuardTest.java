package org.backplane.metal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * S1 guarded where it matters: an exception thrown inside the completion-handler upcall must not
 * escape into Metal's thread, where the JVM would exit. {@link UpcallGuardScenario} runs in a
 * forked JVM (an escape would take this one down too); the test fails if that JVM dies, so
 * removing the upcall's catch-all fails it ({@code dev/break-the-rules.py S1}).
 */
@Tag("simulator")
class UpcallGuardTest {

    @Test
    void anExceptionInsideTheUpcallNeverEndsTheJvm(@TempDir Path dir) throws Exception {
        assumeTrue(Simulator.active(), "needs the Metal simulator (Linux)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path log = dir.resolve("scenario.log");
        List<String> command = new ArrayList<>(List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m",
                "-Dbackplane.metal.library=" + Simulator.library(),
                "-cp",
                classpath.replace(File.pathSeparatorChar == ':' ? ";" : ":", File.pathSeparator),
                UpcallGuardScenario.class.getName()));
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        boolean ended = p.waitFor(120, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as("the scenario JVM ended; output:%n%s", out).isTrue();
        assertThat(out).as("the scenario's output").doesNotContain("Unrecoverable uncaught exception");
        assertThat(p.exitValue())
                .as("the scenario JVM's exit status; output:%n%s", out)
                .isZero();
        assertThat(out).contains("SURVIVED kind=INTERNAL").contains("STILL COMPUTING -4.0");
    }
}
