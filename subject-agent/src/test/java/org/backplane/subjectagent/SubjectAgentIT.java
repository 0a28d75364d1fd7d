package org.backplane.subjectagent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The packaged agent in a fresh JVM, on Karaf's unmodified jars. */
class SubjectAgentIT {
    private record Run(int status, String output) {}

    private static Run java(boolean withAgent) throws IOException, InterruptedException {
        Path agent = Path.of(System.getProperty("agent.jar"));
        assertThat(agent).exists();
        List<String> command = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (withAgent) {
            command.add("-javaagent:" + agent);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), KarafJaasProbe.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void withTheAgentKarafsJaasCodeWorksOnThisJdk() throws Exception {
        Run run = java(true);
        assertThat(run.status()).as(run.output()).isZero();
        assertThat(run.output())
                .contains("subjects loader=boot")
                .contains("admin=true viewer=false thread=true outside=false")
                .containsPattern("rewritten classes=[1-9]");
    }

    @Test
    void withoutItTheSameCodeFails() throws Exception {
        Run run = java(false);
        assertThat(run.status()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("UnsupportedOperationException");
        assertThat(Files.exists(Path.of(System.getProperty("agent.jar")))).isTrue();
    }
}
