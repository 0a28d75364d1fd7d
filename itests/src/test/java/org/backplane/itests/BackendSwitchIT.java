package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.backplane.api.ExecutionBackend;
import org.backplane.cpu.CpuBackend;
import org.backplane.cpu.CpuSettings;
import org.backplane.itests.host.HostProbe;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceRegistration;

/**
 * Switching the backend through Config Admin: a host bundle that holds the active backend rebinds
 * without restarting, loses no submitted work, and an impossible choice keeps the previous one and
 * says why.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BackendSwitchIT extends ItestSupport {

    private CpuBackend alternative;
    private ServiceRegistration<ExecutionBackend> alternativeRegistration;

    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @After
    public void cleanUp() throws Exception {
        configure(SELECTION, Map.of("backend", "cpu"));
        if (alternativeRegistration != null) {
            alternativeRegistration.unregister();
            alternative.close();
        }
    }

    /** A second backend beside the default one: another CPU instance with its own id. */
    private void registerAlternative() {
        alternative = CpuBackend.start(CpuSettings.defaults().withId("cpu-alt"));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExecutionBackend.BACKEND_ID, "cpu-alt");
        alternativeRegistration = context.registerService(ExecutionBackend.class, alternative, props);
    }

    @Test
    public void switchingRebindsTheHostWithoutARestartAndLosesNoWork() throws Exception {
        HostProbe host = await(HostProbe.class, null);
        eventually("the host holds the cpu backend", 20, () -> "cpu".equals(host.currentBackend()));
        int activations = host.activations();
        registerAlternative();
        int bindingsBefore = host.bindings().size();

        host.startWork();
        for (int round = 0; round < 6; round++) {
            String target = round % 2 == 0 ? "cpu-alt" : "cpu";
            configure(SELECTION, Map.of("backend", target));
            eventually("the host rebinds to " + target, 20, () -> target.equals(host.currentBackend()));
            Thread.sleep(100); // let the host submit work on the new backend
        }
        HostProbe.WorkReport report = host.stopWork();

        assertThat(host.activations())
                .as("the host component was never restarted")
                .isEqualTo(activations);
        List<String> switches =
                host.bindings().subList(bindingsBefore, host.bindings().size());
        assertThat(switches)
                .as("each switch binds the new backend before unbinding the old one")
                .startsWith("bind cpu-alt", "unbind cpu", "bind cpu", "unbind cpu-alt");
        assertThat(report.unexplained())
                .as("failures without a clear Backplane error")
                .isEmpty();
        assertThat(report.wrong()).as("ops with wrong results").isZero();
        assertThat(report.completed()).isPositive();
        assertThat(report.submitted())
                .as("every submitted op completed or failed with a clear error")
                .isEqualTo(report.completed() + report.failedClearly());
        assertThat(report.backendsUsed()).contains("cpu", "cpu-alt");
    }

    @Test
    public void anUnavailableBackendKeepsThePreviousChoiceAndSaysWhy() throws Exception {
        HostProbe host = await(HostProbe.class, null);
        eventually("the host holds the cpu backend", 20, () -> "cpu".equals(host.currentBackend()));
        String output = gogo("backplane:backend tpu"); // no such bundle
        assertThat(output)
                .contains("active     cpu")
                .contains("tpu")
                .contains("not registered")
                .contains("keeping 'cpu'");
        assertThat(host.currentBackend()).isEqualTo("cpu");
        output = gogo("backplane:backend metal"); // installed, inactive on this machine
        assertThat(output)
                .contains("active     cpu")
                .contains("metal (unavailable here: ")
                .contains("keeping 'cpu'");
        assertThat(host.currentBackend()).isEqualTo("cpu");
    }

    @Test
    public void aPreferenceListFallsBackToTheFirstAvailableBackendLoudly() throws Exception {
        registerAlternative();
        HostProbe host = await(HostProbe.class, null);
        configure(SELECTION, Map.of("backend", "metal,cuda,cpu-alt,cpu"));
        eventually("the host rebinds to cpu-alt", 20, () -> "cpu-alt".equals(host.currentBackend()));
        String output = gogo("backplane:backend");
        assertThat(output)
                .contains("active     cpu-alt")
                .contains("preference metal,cuda,cpu-alt,cpu")
                .contains("PREFERRED BACKEND NOT AVAILABLE")
                .contains("metal")
                .contains("cuda");
    }
}
