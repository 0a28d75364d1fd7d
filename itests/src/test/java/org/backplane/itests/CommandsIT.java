package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultInjector;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The {@code backplane:} console commands, run through the Gogo runtime. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CommandsIT extends ItestSupport {
    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @Test
    public void streamsStreamResetAndResetall() throws Exception {
        ExecutionBackend cpu = cpuWithFaultInjection();
        ComputeStream s = cpu.openStream("listed");
        ComputeStream t = cpu.openStream("other");
        String table = gogo("backplane:streams");
        assertThat(table)
                .contains("ID")
                .contains("STATE")
                .contains(s.id().toString())
                .contains("listed")
                .contains("ACTIVE");

        FaultInjector.of(cpu).orElseThrow().raise(s.id(), ErrorKind.OUT_OF_MEMORY, 2, "command test");
        assertThat(gogo("backplane:streams")).contains("FAILED").contains("OUT_OF_MEMORY");
        String details = gogo("backplane:stream " + s.id());
        assertThat(details)
                .contains("state      FAILED")
                .contains("error      OUT_OF_MEMORY")
                .contains("command test")
                .contains("native   2");

        FaultInjector.of(cpu).orElseThrow().raise(t.id(), ErrorKind.TIMEOUT, 2, "second");
        assertThat(gogo("backplane:resetall")).contains("reset 2 stream(s)");
        assertThat(gogo("backplane:stream " + t.id()))
                .contains("state      ACTIVE")
                .contains("generation 2")
                .contains("error      none");
        assertThatThrownBy(() -> gogo("backplane:stream cpu:99999")).hasMessageContaining("no open stream cpu:99999");
        assertThatThrownBy(() -> gogo("backplane:reset nonsense")).hasMessageContaining("not a stream id");
    }

    @Test
    public void demoRunsOnTheActiveBackendAndReportsEachStep() throws Exception {
        activeCpuWithFaultInjection();
        String report = gogo("backplane:matmuldemo");
        assertThat(report)
                .contains("bit-identical to the fault-free run")
                .contains("failed, reported once: PAGE_FAULT")
                .contains("StreamPoisonedException")
                .contains("reset: state ACTIVE, generation 2")
                .contains("Demo passed");
    }

    @Test
    public void backendShowsTheSelection() throws Exception {
        assertThat(gogo("backplane:backend")).contains("active     cpu").contains("registered cpu (RUNNING)");
    }
}
