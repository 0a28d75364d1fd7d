package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.Assume.assumeTrue;

import java.util.Map;
import org.backplane.api.ActiveBackend;
import org.backplane.api.BackendAvailability;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The Metal bundle inside the framework, on Linux against the Metal simulator: inactive (saying why)
 * until its configuration names the simulator, then registered, selected through Config Admin
 * without a restart, computing the same results as the CPU reference, and switched away again.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MetalSimulatorIT extends ItestSupport {
    private static final String METAL = "(" + ExecutionBackend.BACKEND_ID + "=metal)";
    private static final String METAL_PID = "org.backplane.backend.metal";

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @After
    public void cleanUp() throws Exception {
        configure(SELECTION, Map.of("backend", "cpu"));
    }

    private static String simulator() {
        return System.getProperty("metal.simulator", "");
    }

    @Test
    public void switchedToThroughConfigAdminTheMetalBackendComputesOnTheSimulator() throws Exception {
        Bundle metal = installedBundle("org.backplane.metal-backend");
        assertThat(metal.getState()).isEqualTo(Bundle.ACTIVE);
        assumeTrue("the Metal simulator is built on Linux only", !simulator().isEmpty());

        BackendAvailability before = await(BackendAvailability.class, METAL);
        assertThat(before.available()).isFalse();
        assertThat(before.reason()).contains("Metal is Apple-only");

        configure(METAL_PID, Map.of("library", simulator()));
        eventually("the Metal backend registers once its library is configured", 20, () -> {
            try {
                return !context.getServiceReferences(ExecutionBackend.class, METAL)
                        .isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(await(BackendAvailability.class, METAL).reason()).contains("Metal simulator");

        configure(SELECTION, Map.of("backend", "metal,cpu"));
        eventually("metal becomes the active backend", 20, () -> {
            try {
                return !context.getServiceReferences(ActiveBackend.class, METAL).isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(gogo("backplane:backend")).contains("active     metal");

        ActiveBackend active = await(ActiveBackend.class, METAL);
        ExecutionBackend cpu = cpuBackend(b -> true);
        float[] a = new float[12 * 16];
        float[] b = new float[16 * 8];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) * 0.25f - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (i % 5) * 0.5f - 1f;
        }
        float[] onMetal;
        float[] onCpu;
        try (ComputeStream s = active.openStream("metal-it")) {
            assertThat(s.backend().id()).isEqualTo("metal");
            onMetal = compute(s, a, b);
        }
        try (ComputeStream s = cpu.openStream("cpu-it")) {
            onCpu = compute(s, a, b);
        }
        assertThat(onMetal).hasSize(12);
        for (int i = 0; i < onMetal.length; i++) {
            assertThat(onMetal[i]).isCloseTo(onCpu[i], org.assertj.core.data.Offset.offset(1e-5f));
        }

        configure(SELECTION, Map.of("backend", "cpu"));
        eventually("cpu is active again", 20, () -> {
            try {
                return gogo("backplane:backend").contains("active     cpu");
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** softmax(relu(a x b)) summed over its rows: matmul, unary, softmax and a reduction. */
    private static float[] compute(ComputeStream s, float[] a, float[] b) {
        DeviceArray x = s.upload(a, 12, 16);
        DeviceArray w = s.upload(b, 16, 8);
        DeviceArray y = s.softmax(s.relu(s.matmul(x, w)));
        return s.reduce(org.backplane.api.ReduceOp.SUM, s.mul(y, y), 1).download();
    }
}
