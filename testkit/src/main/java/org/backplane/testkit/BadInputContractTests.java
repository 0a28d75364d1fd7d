package org.backplane.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.api.ExecutionBackend;
import org.backplane.api.ReduceOp;
import org.backplane.api.StreamClosedException;
import org.backplane.api.StreamState;
import org.junit.jupiter.api.Test;

/**
 * Bad input fails at once on the caller's thread with a clear message, and leaves the stream
 * usable: it never poisons anything.
 */
public abstract class BadInputContractTests extends ContractTestSupport {

    @Test
    void badInputFailsAtOnceWithAClearMessageAndLeavesTheStreamUsable() throws Exception {
        ComputeStream s = backend.openStream("bad-input");
        DeviceArray m23 = s.upload(new float[6], 2, 3);
        DeviceArray v4 = s.upload(new float[4], 4);
        DeviceArray empty = s.upload(new float[0], 0, 3);
        long huge = backend.capabilities().maxArrayBytes() / Float.BYTES + 1;
        int side = (int) Math.min(Integer.MAX_VALUE, (long) Math.ceil(Math.sqrt((double) huge)) + 1);

        Map<String, Map.Entry<Class<? extends Throwable>, ThrowingCallable>> cases = new LinkedHashMap<>();
        cases.put("null input", Map.entry(NullPointerException.class, () -> s.exp(null)));
        cases.put("null op", Map.entry(NullPointerException.class, () -> s.unary(null, m23)));
        cases.put("null upload data", Map.entry(NullPointerException.class, () -> s.upload((float[]) null, 1)));
        cases.put("null shape", Map.entry(NullPointerException.class, () -> s.full(1f, (int[]) null)));
        cases.put("shape mismatch", Map.entry(IllegalArgumentException.class, () -> s.add(m23, v4)));
        cases.put("matmul inner mismatch", Map.entry(IllegalArgumentException.class, () -> s.matmul(m23, m23)));
        cases.put("matmul of a vector", Map.entry(IllegalArgumentException.class, () -> s.matmul(v4, v4)));
        cases.put("negative dimension", Map.entry(IllegalArgumentException.class, () -> s.full(0f, 2, -1)));
        cases.put(
                "data length mismatch", Map.entry(IllegalArgumentException.class, () -> s.upload(new float[5], 2, 3)));
        cases.put(
                "larger than the backend can hold",
                Map.entry(IllegalArgumentException.class, () -> s.full(0f, side, side)));
        cases.put("axis out of range", Map.entry(IllegalArgumentException.class, () -> s.sum(m23, 2)));
        cases.put(
                "max of an empty axis",
                Map.entry(IllegalArgumentException.class, () -> s.reduce(ReduceOp.MAX, empty, 0)));
        cases.put(
                "transpose axes not a permutation",
                Map.entry(IllegalArgumentException.class, () -> s.transpose(m23, 0, 0)));
        cases.put(
                "softmax of a scalar",
                Map.entry(IllegalArgumentException.class, () -> s.softmax(s.upload(new float[1]))));
        cases.put(
                "eval of another stream's array",
                Map.entry(
                        IllegalArgumentException.class,
                        () -> backend.openStream("other").eval(m23)));
        cases.put(
                "download into a small buffer",
                Map.entry(IllegalArgumentException.class, () -> m23.download(FloatBuffer.allocate(5))));
        cases.put(
                "download into a read-only segment",
                Map.entry(
                        IllegalArgumentException.class,
                        () -> m23.download(MemorySegment.ofArray(new float[6]).asReadOnly())));
        cases.put(
                "upload of a ragged segment",
                Map.entry(IllegalArgumentException.class, () -> s.upload(MemorySegment.ofArray(new byte[7]), 1)));

        for (Map.Entry<String, Map.Entry<Class<? extends Throwable>, ThrowingCallable>> c : cases.entrySet()) {
            assertThatThrownBy(c.getValue().getValue())
                    .as(c.getKey())
                    .isInstanceOf(c.getValue().getKey())
                    .satisfies(e -> assertThat(e.getMessage())
                            .as(c.getKey() + " message")
                            .isNotBlank());
            assertThat(s.snapshot().state()).as("after " + c.getKey()).isEqualTo(StreamState.ACTIVE);
        }
        assertThat(s.snapshot().opsFailed()).isZero();
        DeviceArray ok = s.add(m23, s.full(1f, 3));
        assertThat(ok.download()).containsOnly(1f);
    }

    @Test
    void badInputOfTheArrayApiFailsAtOnceAndLeavesTheStreamUsable() {
        ComputeStream s = backend.openStream("bad-array-input");
        DeviceArray m23 = s.upload(new float[6], 2, 3);
        DeviceArray ints = s.upload(new int[] {1, 2, 3, 4, 5, 6}, 2, 3);
        DeviceArray q = s.upload(new float[2 * 4 * 8], 2, 4, 8);
        DeviceArray k = s.upload(new float[2 * 4 * 6], 2, 4, 6);

        Map<String, ThrowingCallable> cases = new LinkedHashMap<>();
        cases.put("matmul of integers", () -> s.matmul(ints, s.transpose(ints)));
        cases.put("take with floating indices", () -> s.take(m23, m23, 0));
        cases.put("take index out of range, known on the host", () -> s.take(m23, new int[] {0, 2}, 0));
        cases.put("take from an empty axis", () -> s.take(s.full(0f, 0, 3), s.upload(new int[] {0}, 1), 0));
        cases.put("reshape to another size", () -> s.reshape(m23, 4, 2));
        cases.put("reshape with two inferred axes", () -> s.reshape(m23, -1, -1));
        cases.put("slice with step 0", () -> s.slice(m23, 1, 0, 3, 0));
        cases.put("broadcast to an incompatible shape", () -> s.broadcastTo(m23, 3, 3));
        cases.put("squeeze of an axis that is not 1", () -> s.squeeze(m23, 0));
        cases.put("expandDims beyond the rank", () -> s.expandDims(m23, 4));
        cases.put("concatenate of mismatched shapes", () -> s.concatenate(List.of(m23, s.full(0f, 3, 2)), 0));
        cases.put("concatenate of nothing", () -> s.concatenate(List.of(), 0));
        cases.put("split that does not divide", () -> s.split(m23, 2, 1));
        cases.put("where of incompatible shapes", () -> s.where(s.full(DType.BOOL, 1, 3, 3), m23, m23));
        cases.put("layerNorm weight of the wrong length", () -> s.layerNorm(m23, s.full(1f, 2), null, 1e-5f));
        cases.put("layerNorm with a negative epsilon", () -> s.layerNorm(m23, null, null, -1f));
        cases.put("attention with different q and k widths", () -> s.scaledDotProductAttention(q, k, k, null, 1f));
        cases.put(
                "attention with an integer mask",
                () -> s.scaledDotProductAttention(q, q, q, s.full(DType.INT32, 0, 4, 4), 1f));
        cases.put("argmax of an empty axis", () -> s.argmax(s.full(0f, 2, 0), 1));
        cases.put("16-bit patterns as float32", () -> s.upload(new short[4], DType.FLOAT32, 4));
        cases.put("astype to null", () -> s.astype(m23, null));

        for (Map.Entry<String, ThrowingCallable> c : cases.entrySet()) {
            assertThatThrownBy(c.getValue())
                    .as(c.getKey())
                    .isInstanceOfAny(IllegalArgumentException.class, NullPointerException.class)
                    .satisfies(e -> assertThat(e.getMessage())
                            .as(c.getKey() + " message")
                            .isNotBlank());
            assertThat(s.snapshot().state()).as("after " + c.getKey()).isEqualTo(StreamState.ACTIVE);
        }
        assertThat(s.snapshot().opsFailed()).isZero();
        assertThat(s.take(s.add(m23, 1f), new int[] {-1}, 0).download()).containsOnly(1f);
    }

    @Test
    void messagesNameTheShapesInvolved() {
        ComputeStream s = backend.openStream("messages");
        DeviceArray a = s.upload(new float[6], 2, 3);
        DeviceArray b = s.upload(new float[8], 2, 4);
        assertThatThrownBy(() -> s.add(a, b)).hasMessageContaining("[2, 3]").hasMessageContaining("[2, 4]");
        assertThatThrownBy(() -> s.matmul(a, a))
                .hasMessageContaining("3 columns")
                .hasMessageContaining("2 rows");
    }

    @Test
    void usingAClosedStreamOrArrayFailsAtOnce() {
        ComputeStream s = backend.openStream("closed");
        DeviceArray a = s.upload(new float[] {1}, 1);
        DeviceArray closedArray = s.upload(new float[] {2}, 1);
        closedArray.close();
        assertThatThrownBy(() -> s.neg(closedArray))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(closedArray::download)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThat(s.neg(a).download()).containsExactly(-1f);
        s.close();
        assertThatThrownBy(() -> s.neg(a))
                .isInstanceOf(StreamClosedException.class)
                .hasMessageContaining(s.id().toString());
        assertThatThrownBy(() -> backend.openStream(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void arraysOfAnotherBackendInstanceAreRejected() {
        ExecutionBackend other = fixture().start(settings());
        try {
            ComputeStream mine = backend.openStream("mine");
            DeviceArray foreign = other.openStream("theirs").upload(new float[] {1}, 1);
            assertThatThrownBy(() -> mine.add(foreign, foreign))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("another backend");
            assertThat(mine.snapshot().state()).isEqualTo(StreamState.ACTIVE);
        } finally {
            fixture().stop(other);
        }
    }

    @Test
    void uploadAcceptsEveryHostFormat() {
        ComputeStream s = backend.openStream("formats");
        float[] data = {1, 2, 3, 4};
        assertThat(s.upload(data, 2, 2).download()).containsExactly(data);
        FloatBuffer buffer = FloatBuffer.wrap(new float[] {9, 1, 2, 3, 4});
        buffer.position(1);
        assertThat(s.upload(buffer, 4).download()).containsExactly(data);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, data);
            assertThat(s.upload(seg, 4).download()).containsExactly(data);
            MemorySegment out = arena.allocate(16);
            s.upload(data, 4).download(out);
            assertThat(out.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).containsExactly(data);
        }
        FloatBuffer target = FloatBuffer.allocate(6);
        target.position(1);
        s.upload(data, 4).download(target);
        assertThat(target.position()).isEqualTo(5);
        assertThat(target.array()).containsExactly(0, 1, 2, 3, 4, 0);
    }
}
