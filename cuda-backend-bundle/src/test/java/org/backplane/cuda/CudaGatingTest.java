package org.backplane.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Without a GPU the backend refuses to start and says why; with one it starts. */
class CudaGatingTest {
    private static boolean driverInstalled() {
        for (String dir :
                new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/lib"}) {
            if (Files.exists(Path.of(dir, "libcuda.so.1"))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void withoutTheNvidiaDriverTheBackendSaysWhyItCannotRun() {
        assumeFalse(driverInstalled(), "this machine has an NVIDIA driver");
        assertThat(CudaBackend.isAvailable()).isFalse();
        assertThat(CudaBackend.availability())
                .startsWith("unavailable")
                .contains("libcuda.so.1")
                .contains("no NVIDIA driver");
        assertThatThrownBy(() -> CudaBackend.start(CudaSettings.defaults()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot run here")
                .hasMessageContaining("libcuda.so.1");
    }

    @Test
    void withAGpuTheBackendStartsAndDescribesItsDevice() {
        assumeTrue(CudaBackend.isAvailable(), CudaBackend::availability);
        try (CudaBackend cuda = CudaBackend.start(CudaSettings.defaults())) {
            assertThat(cuda.id()).isEqualTo("cuda");
            assertThat(cuda.device().vendor()).isEqualTo("NVIDIA");
            assertThat(cuda.device().memoryBytes()).isPositive();
            assertThat(cuda.device().details()).containsKeys("compute capability", "driver", "cublas");
        }
    }
}
