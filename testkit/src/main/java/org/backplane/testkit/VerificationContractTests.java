package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.StreamFailedException;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.reference.ReferenceChecker;
import org.backplane.spi.Command;
import org.backplane.spi.ResultChecker;
import org.backplane.spi.runtime.ResultChecking;
import org.junit.jupiter.api.Test;

/**
 * Result checking against the CPU reference: a silently wrong result (an injected
 * {@code VERIFICATION_MISMATCH} fault) goes unnoticed without checking, and is captured as a
 * stream failure with checking on; correct results pass the check on every op.
 */
public abstract class VerificationContractTests extends ContractTestSupport {

    /** Ops the installed checker asked for, and ops it was given to check and found right. */
    private final AtomicInteger wanted = new AtomicInteger();

    private final AtomicInteger checked = new AtomicInteger();

    private void checkEverything() {
        assumeThat(backend.feature(ResultChecking.class))
                .as("the backend offers result checking")
                .isPresent();
        ResultChecker reference = new ReferenceChecker(1.0, 1e-4, 1e-6);
        backend.feature(ResultChecking.class).orElseThrow().install(new ResultChecker() {
            @Override
            public boolean wants(Command command) {
                boolean wants = reference.wants(command);
                if (wants) {
                    wanted.incrementAndGet();
                }
                return wants;
            }

            @Override
            public String check(Command command, MemorySegment[] inputs, MemorySegment output) {
                String mismatch = reference.check(command, inputs, output);
                if (mismatch == null) {
                    checked.incrementAndGet();
                }
                return mismatch;
            }
        });
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
        assertThat(wanted.get()).as("ops the checker asked for (a rate of 1.0)").isGreaterThanOrEqualTo(20);
        assertThat(checked.get())
                .as("each op the checker asked for was checked and found right before its result was released")
                .isEqualTo(wanted.get());
        assertThat(s.snapshot().opsFailed()).isZero();
        assertThat(s.snapshot().isHealthy()).isTrue();
    }
}
