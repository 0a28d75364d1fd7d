package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.backplane.api.ComputeStream;
import org.backplane.api.ExecutionBackend;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The CPU backend resolves, registers and computes with the isolation bundle absent (its import of
 * {@code org.backplane.isolation} is optional): a host that never isolates need not install it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CpuWithoutIsolationIT extends ItestSupport {
    @Configuration
    public Option[] config() {
        return cpuAloneOptions();
    }

    @Test
    public void theCpuBackendRunsWithoutTheIsolationBundle() throws Exception {
        assertThat(Arrays.stream(context.getBundles()).map(Bundle::getSymbolicName))
                .as("installed bundles")
                .doesNotContain("org.backplane.isolation")
                .contains("org.backplane.cpu");
        assertThat(installedBundle("org.backplane.cpu").getState()).isEqualTo(Bundle.ACTIVE);
        ExecutionBackend cpu = cpuBackend(b -> true);
        try (ComputeStream s = cpu.openStream("without-isolation")) {
            assertThat(s.matmul(s.full(2f, 3, 4), s.full(0.5f, 4, 2)).download())
                    .containsOnly(4f);
        }
    }
}
