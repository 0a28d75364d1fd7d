package org.backplane.cuda.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The committed PTX was built from the kernel source as it is now (no GPU or nvcc needed to check). */
class PtxCurrencyTest {
    @Test
    void thePtxMatchesItsSource() throws Exception {
        Path inModule = Path.of("src/main/cuda/backplane_kernels.cu");
        byte[] source = Files.readAllBytes(
                Files.exists(inModule)
                        ? inModule
                        : Path.of("cuda-backend-bundle").resolve(inModule));
        String hash =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source));
        String firstLine;
        try (InputStream in = CudaDevice.class.getResourceAsStream("backplane_kernels.ptx")) {
            assertThat(in).as("the PTX is packaged in the bundle").isNotNull();
            firstLine = new String(in.readAllBytes(), StandardCharsets.US_ASCII)
                    .lines()
                    .findFirst()
                    .orElse("");
        }
        assertThat(firstLine)
                .as("PTX is stale: run cuda-backend-bundle/build-ptx.sh (needs nvcc) and commit the result")
                .isEqualTo("// backplane_kernels.cu sha256 " + hash);
    }

    @Test
    void everyKernelTheEngineLoadsIsInThePtx() throws Exception {
        String ptx;
        try (InputStream in = CudaDevice.class.getResourceAsStream("backplane_kernels.ptx")) {
            ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        for (String kernel : CudaDevice.KERNELS) {
            assertThat(ptx).contains(".entry " + kernel + "(");
        }
    }
}
