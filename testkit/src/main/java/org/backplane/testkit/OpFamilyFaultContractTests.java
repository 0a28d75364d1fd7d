package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.backplane.api.BinaryOp;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ErrorKind;
import org.backplane.api.ReduceOp;
import org.backplane.api.StreamFailedException;
import org.backplane.api.StreamPoisonedException;
import org.backplane.api.StreamState;
import org.backplane.api.fault.FaultRule;
import org.backplane.cpu.reference.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The contract holds for every family of ops, not just the first twenty: a fault in a take, a
 * where, a comparison, a cast, a copy of a view, a join, an arg-reduction, a scan, a multi-axis
 * variance, a log-softmax, a fused norm, attention or a half-precision matmul poisons its stream
 * exactly as a fault in an add does (S1, S3, S4: the original error once, naming the op; then
 * refusal), leaves another stream running the same program bit-identical to a fault-free run (S5),
 * and reset brings the stream back to exact results (S7).
 */
public abstract class OpFamilyFaultContractTests extends ContractTestSupport {
    private record Family(String name, String opPrefix, Function<ComputeStream, DeviceArray> program) {}

    private static DeviceArray a(ComputeStream s) {
        return s.upload(Workloads.scaled(new Random(1), 6 * 8, 2f), 6, 8);
    }

    private static DeviceArray b(ComputeStream s) {
        return s.upload(Workloads.scaled(new Random(2), 6 * 8, 2f), 6, 8);
    }

    private static final List<Family> FAMILIES = List.of(
            new Family("take", "take", s -> s.take(a(s), s.upload(new long[] {5, -1, 0}, 3), 0)),
            new Family("where", "where", s -> s.where(s.greater(a(s), b(s)), a(s), b(s))),
            new Family("comparison", "less", s -> s.binary(BinaryOp.LESS, a(s), b(s))),
            new Family("cast", "astype", s -> s.astype(a(s), DType.BFLOAT16)),
            new Family("copy of a view", "copy", s -> s.reshape(s.transpose(a(s)), 48)),
            new Family("scalar operand", "mul", s -> s.mul(a(s), 0.125)),
            new Family("pow", "pow", s -> s.binary(BinaryOp.POW, s.abs(a(s)), 1.5)),
            new Family("gelu", "gelu", s -> s.gelu(a(s))),
            new Family("concatenate", "concatenate", s -> s.concatenate(List.of(a(s), b(s)), 1)),
            new Family("argmax", "argmax", s -> s.argmax(a(s), 1)),
            new Family("cumsum", "cumsum", s -> s.cumsum(a(s), 0)),
            new Family(
                    "variance", "var", s -> s.reduce(ReduceOp.VAR, s.reshape(a(s), 2, 3, 8), new int[] {0, 2}, true)),
            new Family("logSoftmax", "logsoftmax", s -> s.logSoftmax(a(s), 0)),
            new Family("layerNorm", "layernorm", s -> s.layerNorm(a(s), s.full(2f, 8), s.full(0.5f, 8), 1e-5f)),
            new Family("rmsNorm", "rmsnorm", s -> s.rmsNorm(a(s), s.full(2f, 8), 1e-6f)),
            new Family(
                    "attention",
                    "attention",
                    s -> s.scaledDotProductAttention(
                            s.reshape(a(s), 2, 3, 8), s.reshape(b(s), 2, 3, 8), s.reshape(a(s), 2, 3, 8), null, 0.35f)),
            new Family(
                    "bfloat16 matmul",
                    "matmul",
                    s -> s.matmul(s.astype(a(s), DType.BFLOAT16), s.astype(s.transpose(b(s)), DType.BFLOAT16))));

    @Test
    void aFaultInAnOpOfAnyFamilyPoisonsOnlyItsStreamOnceAndResetRecoversIt() {
        for (Family f : FAMILIES) {
            ComputeStream clean = backend.openStream("clean-" + f.name);
            Tensor expected = TestArrays.download(f.program.apply(clean));
            long last = clean.snapshot().opsSubmitted();
            clean.close();

            String label = "faulty-" + f.name;
            faults().schedule(FaultRule.atOp(label, last, ErrorKind.PAGE_FAULT));
            ComputeStream faulty = backend.openStream(label);
            ComputeStream bystander = backend.openStream("bystander-" + f.name);
            DeviceArray failed = f.program.apply(faulty);
            DeviceArray fine = f.program.apply(bystander);

            Throwable first = catchThrowable(failed::download);
            assertThat(first).as(f.name).isInstanceOf(StreamFailedException.class);
            StreamFailedException e = (StreamFailedException) first;
            assertThat(e.error().kind()).as(f.name).isEqualTo(ErrorKind.PAGE_FAULT);
            assertThat(e.error().failedOp())
                    .as(f.name + ": the error names the op")
                    .startsWith(f.opPrefix);
            assertThatThrownBy(failed::download).as(f.name).isInstanceOf(StreamPoisonedException.class);

            TensorAssertions.assertExact(expected, TestArrays.download(fine), f.name + " on the bystander");
            assertThat(bystander.snapshot().state()).as(f.name).isEqualTo(StreamState.ACTIVE);

            backend.reset(faulty.id());
            TensorAssertions.assertExact(
                    expected, TestArrays.download(f.program.apply(faulty)), f.name + " after reset");
            faulty.close();
            bystander.close();
        }
    }

    @Test
    void aTakeIndexOutOfRangeFoundOnTheDeviceIsTheStreamsErrorNeverAWrongValue() {
        ComputeStream s = backend.openStream("take-out-of-range");
        ComputeStream other = backend.openStream("take-bystander");
        DeviceArray table = s.upload(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        DeviceArray rows = s.take(table, s.upload(new int[] {0, 7, 1}, 3), 0);
        DeviceArray next = s.add(rows, 1f);
        DeviceArray fine = other.take(other.upload(new float[] {1, 2, 3, 4, 5, 6}, 3, 2), new int[] {2, -3}, 0);

        Throwable first = catchThrowable(next::download);
        assertThat(first).isInstanceOf(StreamFailedException.class);
        StreamFailedException e = (StreamFailedException) first;
        assertThat(e.error().kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT);
        assertThat(e.error().failedOp()).startsWith("take");
        assertThat(e.error().message()).contains("7");
        assertThatThrownBy(rows::download).isInstanceOf(StreamPoisonedException.class);
        assertThat(fine.download()).containsExactly(5, 6, 1, 2);

        backend.reset(s.id());
        DeviceArray t = s.upload(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        assertThat(s.take(t, s.upload(new int[] {-1, 0}, 2), 0).download()).containsExactly(5, 6, 1, 2);
    }
}
