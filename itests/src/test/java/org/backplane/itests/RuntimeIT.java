package org.backplane.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import javax.inject.Inject;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.backplane.api.ActiveBackend;
import org.backplane.api.ComputeStream;
import org.backplane.api.PoisonStateService;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/** The bundles resolve and activate, and the runtime's services are there. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RuntimeIT extends ItestSupport {
    @Inject
    private PoisonStateService poison;

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @Test
    public void theFrameworkIsTheOneThisRunIsFor() {
        String system = context.getBundle(0).getSymbolicName();
        assertEquals(
                "system bundle " + system,
                framework().equals("felix") ? "org.apache.felix.framework" : "org.eclipse.osgi",
                system);
    }

    @Test
    public void everyBackplaneBundleIsActive() {
        for (String bsn : new String[] {
            "org.backplane.api", "org.backplane.cpu", "org.backplane.runtime", "org.backplane.itests.host"
        }) {
            assertEquals(
                    bsn + " in " + framework(),
                    Bundle.ACTIVE,
                    installedBundle(bsn).getState());
        }
    }

    @Test
    public void theCpuBackendIsActiveAndComputes() throws Exception {
        ActiveBackend active = await(ActiveBackend.class, "(backend.id=cpu)");
        try (ComputeStream s = active.openStream("itest")) {
            float[] y = s.matmul(s.full(1f, 4, 8), s.full(2f, 8, 3)).download();
            assertEquals(16f, y[0], 0f);
            assertTrue(active.device().details().get("simd").startsWith("Vector API"));
        }
    }

    @Test
    public void theHealthCheckIsOkWhileAllStreamsAreHealthy() throws Exception {
        HealthCheck hc = await(HealthCheck.class, "(hc.tags=backplane)");
        Result r = hc.execute();
        assertEquals(r.toString(), Result.Status.OK, r.getStatus());
        assertTrue(poison.streams().stream().allMatch(s -> s.isHealthy()));
    }
}
