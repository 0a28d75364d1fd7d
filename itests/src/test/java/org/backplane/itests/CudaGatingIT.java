package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.backplane.api.BackendAvailability;
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
import org.osgi.framework.ServiceReference;

/**
 * The CUDA bundle installs and starts everywhere; its backend registers only where the NVIDIA
 * driver loads and a device exists (an OSGi Condition), and otherwise the console says why.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CudaGatingIT extends ItestSupport {
    private static final String CUDA = "(" + ExecutionBackend.BACKEND_ID + "=cuda)";

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @After
    public void cleanUp() throws Exception {
        configure(SELECTION, Map.of("backend", "cpu"));
    }

    @Test
    public void theCudaBundleIsActiveAndItsBackendRegistersOnlyWhereAGpuIs() throws Exception {
        Bundle cuda = installedBundle("org.backplane.cuda-backend");
        assertThat(cuda.getState()).isEqualTo(Bundle.ACTIVE);
        BackendAvailability availability = await(BackendAvailability.class, CUDA);
        assertThat(availability.reason()).isNotBlank();
        if (availability.available()) {
            await(ExecutionBackend.class, CUDA);
        } else {
            assertThat(availability.reason()).contains("libcuda.so.1");
            Thread.sleep(500); // a backend that registered anyway would have done so by now
            ServiceReference<?>[] refs = context.getServiceReferences(ExecutionBackend.class.getName(), CUDA);
            assertThat(refs).as("no CUDA backend without a GPU").isNull();
        }
    }

    @Test
    public void theConsoleSaysWhyCudaIsInactiveOrSwitchesToIt() throws Exception {
        BackendAvailability availability = await(BackendAvailability.class, CUDA);
        String output = gogo("backplane:backend cuda,cpu");
        if (availability.available()) {
            eventually("cuda becomes active", 20, () -> {
                try {
                    return gogo("backplane:backend").contains("active     cuda");
                } catch (Exception e) {
                    return false;
                }
            });
        } else {
            assertThat(output)
                    .contains("active     cpu")
                    .contains("inactive   cuda: " + availability.reason())
                    .contains(
                            "PREFERRED BACKEND NOT AVAILABLE: cuda (unavailable here: " + availability.reason() + ")");
        }
    }
}
