package org.backplane.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The launcher starts the embedded framework and runs backplane: commands in it. */
@Timeout(120)
class LauncherTest {
    @TempDir
    static Path storage;

    static Launcher launcher;

    @BeforeAll
    static void start() throws Exception {
        launcher = Launcher.start(Path.of(System.getProperty("backplane.bundles")), storage);
    }

    @AfterAll
    static void stop() throws Exception {
        launcher.close();
    }

    private static String run(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        launcher.execute(command, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theDemoRunsOnTheEmbeddedCpuBackend() throws Exception {
        assertThat(run("backplane:demo"))
                .contains("Backplane demo on backend 'cpu'")
                .contains("Demo passed");
    }

    @Test
    void theCommandsAreThere() throws Exception {
        assertThat(run("backplane:backend")).contains("active     cpu");
        assertThat(run("backplane:verify")).contains("result checking is off");
        assertThat(run("backplane:streams"))
                .as("the table ends with what the active backend holds")
                .contains("backend cpu: arrays hold");
    }

    /** The CUDA bundle ships in the launcher; on a machine without the NVIDIA driver it stays inactive and says why. */
    @Test
    void theCudaBackendIsInstalledAndSaysWhyItIsInactiveWithoutAGpu() throws Exception {
        String output = run("backplane:backend");
        boolean gpu = java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidiactl"));
        if (gpu) {
            assertThat(output).contains("cuda");
        } else {
            assertThat(output).contains("inactive   cuda: libcuda.so.1 could not be loaded");
        }
    }

    @Test
    void aFailingCommandThrows() {
        assertThatThrownBy(() -> run("backplane:stream cpu:4242")).hasMessageContaining("no open stream cpu:4242");
    }
}
