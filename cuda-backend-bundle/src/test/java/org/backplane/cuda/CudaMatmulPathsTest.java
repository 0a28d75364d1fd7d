package org.backplane.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.Shape;
import org.backplane.api.StreamState;
import org.backplane.cpu.reference.ReferenceKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The matmul paths the kit's default configuration does not take (TF32 on, Backplane's own kernel
 * where cuBLAS is missing), and a launch the device itself refuses, which must fail on the caller's
 * thread as bad input and poison nothing. Needs a GPU; skipped with the reason elsewhere.
 */
@Timeout(60)
class CudaMatmulPathsTest {
    private static final String NO_CUBLAS = "/nonexistent/libcublas.so.0";

    private static CudaBackend start(CudaSettings settings) {
        assumeTrue(CudaBackend.isAvailable(), CudaBackend::availability);
        return CudaBackend.start(settings);
    }

    private static float[] random(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** Largest |got - want| relative to the largest |want|. */
    private static double relativeError(float[] got, float[] want) {
        assertThat(got).hasSameSizeAs(want);
        double err = 0;
        double scale = 1e-30;
        for (int i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs((double) got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return err / scale;
    }

    private static double batchedMatmulError(CudaBackend cuda, int batch, int m, int k, int n) {
        Random random = new Random(11);
        float[] a = random(random, batch * m * k);
        float[] b = random(random, batch * k * n);
        try (ComputeStream s = cuda.openStream("paths")) {
            float[] got =
                    s.matmul(s.upload(a, batch, m, k), s.upload(b, batch, k, n)).download();
            return relativeError(got, ReferenceKernels.matmul(a, Shape.of(batch, m, k), b, Shape.of(batch, k, n)));
        }
    }

    @Test
    void withoutCublasBackplanesOwnKernelComputesMatmul() {
        try (CudaBackend cuda = start(CudaSettings.defaults().withCublasLibrary(NO_CUBLAS))) {
            assertThat(cuda.device().details().get("cublas"))
                    .contains("not found")
                    .contains(NO_CUBLAS);
            // Sizes that are not multiples of the kernel's 32x32 tile.
            assertThat(batchedMatmulError(cuda, 3, 67, 45, 33)).isLessThan(1e-5);
        }
    }

    @Test
    void tf32IsUsedOnlyWhenConfiguredAndStaysWithinItsPrecision() {
        try (CudaBackend fp32 = start(CudaSettings.defaults());
                CudaBackend tf32 = start(CudaSettings.defaults().withTf32(true))) {
            assertThat(fp32.device().details().get("cublas")).contains("FP32");
            assumeTrue(!tf32.device().details().get("cublas").contains("not found"), "cuBLAS is not installed here");
            assertThat(tf32.device().details().get("cublas")).contains("TF32 on");
            double fp32Error = batchedMatmulError(fp32, 2, 512, 512, 512);
            double tf32Error = batchedMatmulError(tf32, 2, 512, 512, 512);
            assertThat(fp32Error).as("float32").isLessThan(1e-5);
            // TF32 keeps 10 mantissa bits: about 1e-3 relative per product, far above float32's error.
            assertThat(tf32Error).as("tf32").isLessThan(1e-2);
        }
    }

    @Test
    void aLaunchTheDeviceRefusesFailsOnTheCallersThreadAndPoisonsNothing() {
        // Without cuBLAS, a batched matmul runs one grid layer per batch; more than 65,535 layers
        // is a grid the device refuses at launch (CUDA_ERROR_INVALID_VALUE).
        try (CudaBackend cuda = start(CudaSettings.defaults().withCublasLibrary(NO_CUBLAS));
                ComputeStream s = cuda.openStream("refused")) {
            DeviceArray a = s.full(1f, 70_000, 1, 1);
            assertThatThrownBy(() -> s.matmul(a, a))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the GPU refused")
                    .hasMessageContaining("cuLaunchKernel bp_matmul")
                    .hasMessageContaining("CUDA_ERROR_INVALID_VALUE");
            assertThat(s.snapshot().state()).isEqualTo(StreamState.ACTIVE);
            assertThat(s.snapshot().error()).isEmpty();
            float[] sum = s.add(s.upload(new float[] {1, 2}, 2), s.full(3f, 2)).download();
            assertThat(sum).containsExactly(4f, 5f);
            assertThat(s.sum(a).download()).containsExactly(70_000f);
        }
    }
}
