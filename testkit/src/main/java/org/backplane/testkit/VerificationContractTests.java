package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.util.Random;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.reference.ReferenceChecker;
import org.backplane.spi.runtime.ResultChecking;
import org.junit.jupiter.api.Test;

/**
 * Result checking against the CPU reference: a silently wrong result (an injected
 * {@code VERIFICATION_MISMATCH} fault) goes unnoticed without checking, and is captured as a
 * stream failure with checking on; correct results pass the check on every op.
 */
public abstract class VerificationContractTests extends ContractTestSupport {

    private void checkEverything() {
        assumeThat(backend.feature(ResultChecking.class))
                .as("the backend offers result checking")
                .isPresent();
        backend.feature(ResultChecking.class).orElseThrow().install(new ReferenceChecker(1.0, 1e-4, 1e-6));
    }

    @Test
    void aSilentlyWrongResultIsReturnedWhenNothingChecks() throws Exception {
        ComputeStream s = backend.openStream("unchecked");
        faults().schedule(FaultRule.atOp("unchecked", 1, ErrorKind.VERIFICATION_MISMATCH));
        float[] y = s.add(s.upload(new float[] {1, 2}, 2), s.upload(new float[] {1, 1}, 2))
                .download();
        assertThat(y[0]).as("the injected corruption").isNotEqualTo(2f);
        assertThat(y[1]).isEqualTo(3f);
    }

    @Test
    void checkingCapturesASilentlyWrongResultAsAStreamFailure() throws Exception {
        checkEverything();
        ComputeStream s = backend.openStream("checked");
        ComputeStream other = backend.openStream("checked-bystander");
        faults().schedule(FaultRule.atOp("checked", 2, ErrorKind.VERIFICATION_MISMATCH));
        DeviceArray x = s.upload(new float[] {1, 2, 3}, 3);
        DeviceArray ok = s.neg(x);
        DeviceArray wrong = s.exp(x);
        assertThatThrownBy(wrong::download).isInstanceOfSatisfying(StreamFailedException.class, e -> {
            assertThat(e.error().kind()).isEqualTo(ErrorKind.VERIFICATION_MISMATCH);
            assertThat(e.error().sequence()).isEqualTo(2);
            assertThat(e.error().failedOp()).startsWith("exp");
            assertThat(e.error().message()).contains("index 0").contains("reference");
        });
        assertThat(ok.isReady()).isFalse();
        assertThat(other.neg(other.upload(new float[] {1}, 1)).download()).containsExactly(-1f);
    }

    @Test
    void correctResultsOfEveryKindOfOpPassTheCheck() throws Exception {
        checkEverything();
        ComputeStream s = backend.openStream("all-checked");
        Random r = new Random(5);
        DeviceArray a = ContractTestSupport.random(s, r, 40, 30);
        DeviceArray b = ContractTestSupport.random(s, r, 30, 20);
        Workloads.mixed(s, 9);
        s.softmax(s.sum(s.transpose(s.matmul(a, b)), 1)).download();
        s.synchronize();
        assertThat(s.snapshot().opsFailed()).isZero();
        assertThat(s.snapshot().isHealthy()).isTrue();
    }
}
