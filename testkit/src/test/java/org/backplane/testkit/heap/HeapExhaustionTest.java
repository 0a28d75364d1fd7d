package org.backplane.testkit.heap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * S13 under heap exhaustion, on the CPU backend: {@link HeapExhaustionScenario} in a JVM of its own
 * with a 96 MiB heap, so that filling the heap cannot disturb the other tests.
 */
class HeapExhaustionTest {
    @Test
    void heapExhaustionKillsNoBackendThreadAndHangsNoWaiter() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx96m");
        command.add("--add-modules=jdk.incubator.vector");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(HeapExhaustionScenario.class.getName());
        command.add("4000");
        Path log = Files.createDirectories(Path.of("target")).resolve("heap-exhaustion-scenario.log");
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        boolean ended = p.waitFor(90, TimeUnit.SECONDS);
        if (!ended) {
            // where it hangs, for the report
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            new ProcessBuilder(jcmd.toString(), Long.toString(p.pid()), "Thread.print")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start()
                    .waitFor(30, TimeUnit.SECONDS);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(ended).as("the scenario hung:%n%s", out).isTrue();
        assertThat(out).as(out).contains("HEAP SCENARIO PASSED");
        assertThat(p.exitValue()).as(out).isZero();
    }
}
