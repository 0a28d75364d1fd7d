package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.backplane.api.BackendState;
import org.backplane.api.ComputeStream;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The health check tagged {@code backplane}: OK, WARN with poisoned streams, CRITICAL on device loss. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HealthCheckIT extends ItestSupport {
    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    @Test
    public void theHealthCheckFollowsTheStreams() throws Exception {
        ExecutionBackend cpu = cpuWithFaultInjection();
        HealthCheck hc = await(HealthCheck.class, "(hc.tags=backplane)");
        ComputeStream a = cpu.openStream("hc-a");
        ComputeStream b = cpu.openStream("hc-b");
        assertThat(hc.execute().getStatus()).isEqualTo(Result.Status.OK);

        FaultInjector.of(cpu).orElseThrow().raise(a.id(), ErrorKind.PAGE_FAULT, 3, "hc test");
        Result warn = hc.execute();
        assertThat(warn.getStatus()).isEqualTo(Result.Status.WARN);
        assertThat(warn.toString())
                .contains(a.id().toString())
                .contains("PAGE_FAULT")
                .doesNotContain(b.id().toString());

        FaultInjector.of(cpu).orElseThrow().schedule(FaultRule.atOp(b.id().toString(), 1, ErrorKind.DEVICE_LOST));
        b.neg(b.full(1f, 1));
        b.flush();
        eventually("the backend reports device loss", 20, () -> cpu.state() == BackendState.DEVICE_LOST);
        Result critical = hc.execute();
        assertThat(critical.getStatus())
                .as(critical + " / backend " + cpu + " is " + cpu.state())
                .isEqualTo(Result.Status.CRITICAL);
        assertThat(critical.toString()).contains("lost its device");

        cpu.resetAll();
        assertThat(hc.execute().getStatus()).isEqualTo(Result.Status.OK);
    }
}
