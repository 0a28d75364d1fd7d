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
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.condition.Condition;

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
            // Not a wait for a registration that may come late: the probe registers its availability
            // and, where a GPU is, the condition in one activation, so with this availability the
            // condition never comes, and SCR holds the backend's component unsatisfied on it.
            assertThat(context.getServiceReferences(
                            Condition.class.getName(), "(" + Condition.CONDITION_ID + "=backplane.cuda)"))
                    .as("the condition that would let the CUDA backend start")
                    .isNull();
            ServiceComponentRuntime scr = await(ServiceComponentRuntime.class, null);
            ComponentDescriptionDTO component =
                    scr.getComponentDescriptionDTO(cuda, "org.backplane.cuda.internal.CudaBackendComponent");
            assertThat(component).as("the CUDA backend's component").isNotNull();
            assertThat(scr.getComponentConfigurationDTOs(component))
                    .isNotEmpty()
                    .allSatisfy(c -> {
                        assertThat(c.state).isEqualTo(ComponentConfigurationDTO.UNSATISFIED_REFERENCE);
                        assertThat(c.unsatisfiedReferences)
                                .extracting(r -> r.name)
                                .containsExactly("osgi.ds.satisfying.condition");
                    });
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
