package org.backplane.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.StreamFailedException;
import org.backplane.api.fault.FaultInjector;
import org.backplane.api.fault.FaultRule;
import org.backplane.spi.runtime.ResultChecking;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.ProbeBuilder;
import org.ops4j.pax.exam.TestProbeBuilder;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Result checking against the CPU reference, switched by Config Admin and by the console command:
 * a deliberately wrong result (silent corruption) becomes a {@code VERIFICATION_MISMATCH} failure of
 * its stream when checking is on, and passes unnoticed when it is off.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ResultCheckingIT extends ItestSupport {
    @Configuration
    public Option[] config() {
        return baseOptions();
    }

    /** The probe reaches the runtime's facilities as the runtime does: by asking for that role. */
    @ProbeBuilder
    public TestProbeBuilder probe(TestProbeBuilder probe) {
        probe.setHeader("DynamicImport-Package", "*,org.backplane.spi.runtime;backplane.role=runtime");
        return probe;
    }

    private static boolean checking(ExecutionBackend b) {
        return b.feature(ResultChecking.class)
                .flatMap(ResultChecking::installed)
                .isPresent();
    }

    @Test
    public void aDeliberatelyWrongResultIsCaughtWhenCheckingIsOnAndMissedWhenOff() throws Exception {
        ExecutionBackend cpu = cpuWithFaultInjection();
        configure("org.backplane.verify", Map.of("enabled", true, "sampleRate", 1.0));
        eventually("checking is installed on the cpu backend", 20, () -> checking(cpu));

        ComputeStream checked = cpu.openStream("checked");
        FaultInjector.of(cpu)
                .orElseThrow()
                .schedule(FaultRule.atOp(checked.id().toString(), 2, ErrorKind.VERIFICATION_MISMATCH));
        DeviceArray x = checked.upload(new float[] {1, 1, 1, 1}, 4); // uploads are not ops
        DeviceArray y = checked.upload(new float[] {2, 2, 2, 2}, 4);
        assertThat(checked.add(x, y).download()).containsOnly(3f); // op 1: correct, checked, released
        assertThatThrownBy(() -> checked.mul(x, y).download()) // op 2: silently corrupted
                .isInstanceOfSatisfying(StreamFailedException.class, e -> {
                    assertThat(e.error().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
                    assertThat(e.error().failedOp()).startsWith("mul");
                    assertThat(e.error().message()).contains("reference");
                });

        assertThat(gogo("backplane:verify off")).contains("off");
        eventually("checking is removed", 20, () -> !checking(cpu));
        ComputeStream unchecked = cpu.openStream("unchecked");
        FaultInjector.of(cpu)
                .orElseThrow()
                .schedule(FaultRule.atOp(unchecked.id().toString(), 1, ErrorKind.VERIFICATION_MISMATCH));
        float[] silentlyWrong = unchecked
                .add(unchecked.upload(new float[] {1, 1, 1, 1}, 4), unchecked.upload(new float[] {2, 2, 2, 2}, 4))
                .download();
        assertThat(silentlyWrong[0])
                .as("without checking the corruption goes unnoticed")
                .isNotEqualTo(3f);

        assertThat(gogo("backplane:verify on")).contains("result checking is on");
        assertThat(gogo("backplane:verify")).contains("sample rate 1.0");
    }
}
