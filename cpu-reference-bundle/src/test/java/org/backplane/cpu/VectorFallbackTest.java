package org.backplane.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.backplane.api.ComputeStream;
import org.junit.jupiter.api.Test;

/** A runtime without {@code jdk.incubator.vector} still runs the fast kernels, on scalar loops. */
class VectorFallbackTest {

    /** Run in a child JVM started without the Vector API module. */
    public static void main(String[] args) {
        try (CpuBackend cpu = CpuBackend.start()) {
            ComputeStream s = cpu.openStream("fallback");
            float[] c = s.matmul(s.full(1f, 70, 80), s.full(2f, 80, 90)).download();
            System.out.println("kernels=" + cpu.capabilities().kernels());
            System.out.println("simd=" + cpu.device().details().get("simd"));
            System.out.println("c[0]=" + c[0] + " c[last]=" + c[c.length - 1]);
        }
    }

    @Test
    void withoutTheVectorModuleTheScalarPathRunsAndSaysWhy() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(VectorFallbackTest.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = read(p);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out)
                .contains("kernels=scalar")
                .contains("jdk.incubator.vector not available")
                .contains("c[0]=160.0 c[last]=160.0");
    }

    @Test
    void withTheVectorModuleTheVectorPathRuns() {
        try (CpuBackend cpu = CpuBackend.start()) {
            assertThat(cpu.capabilities().kernels()).isEqualTo("fast");
            assertThat(cpu.device().details().get("simd")).startsWith("Vector API");
        }
    }

    private static String read(Process p) throws IOException {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
