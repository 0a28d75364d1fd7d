package org.backplane.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;
import org.backplane.cpu.CpuBackend;
import org.backplane.onnx.internal.proto.Onnx.TensorProto;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Loading and running small ONNX graphs on the CPU backend, checked against the ops' definitions. */
class OnnxModelTest {
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int INT64 = TensorProto.DataType.INT64_VALUE;

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = CpuBackend.start();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static float[] run(OnnxModel model, ComputeStream s, String input, float[] x, int... shape) {
        Map<String, DeviceArray> out = model.run(s, Map.of(input, s.upload(x, shape)));
        return out.values().iterator().next().download();
    }

    @Test
    void anUnsupportedOpFailsAtLoadNamingTheNodeAndTheOp() {
        ModelBuilder m = new ModelBuilder(17)
                .input("x", FLOAT, 2)
                .node("Loop", new String[] {"x"}, "y")
                .output("y");
        assertThatThrownBy(m::load)
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("loop_0")
                .hasMessageContaining("Loop");
    }

    @Test
    void aFileThatIsNotAModelIsRejected() {
        byte[] junk = "definitely not protobuf \u0000\u00ff".getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> OnnxModel.load(new ByteArrayInputStream(junk), "junk.onnx"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("junk.onnx");
    }

    @Test
    void anOutputNoNodeProducesIsRejected() {
        ModelBuilder m = new ModelBuilder(17)
                .input("x", FLOAT, 2)
                .node("Relu", new String[] {"x"}, "y")
                .output("z");
        assertThatThrownBy(m::load)
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("'z'");
    }

    @Test
    void aDenseLayerMatchesItsDefinition() {
        float[] w = {1, -2, 0.5f, 3, 0, 1, -1, 2, 0.25f, 1, 1, -3};
        float[] b = {0.5f, -0.5f, 0, 1};
        try (OnnxModel model = new ModelBuilder(17)
                        .input("x", FLOAT, -1, 3)
                        .floats("w", w, 3, 4)
                        .floats("b", b, 4)
                        .node("MatMul", new String[] {"x", "w"}, "xw")
                        .node("Add", new String[] {"xw", "b"}, "z")
                        .node("Relu", new String[] {"z"}, "y")
                        .output("y")
                        .load();
                ComputeStream s = backend.openStream("dense")) {
            float[] x = {1, 2, 3, -1, 0.5f, 2};
            float[] y = run(model, s, "x", x, 2, 3);
            float[] expected = new float[8];
            for (int r = 0; r < 2; r++) {
                for (int c = 0; c < 4; c++) {
                    float z = b[c];
                    for (int k = 0; k < 3; k++) {
                        z += x[r * 3 + k] * w[k * 4 + c];
                    }
                    expected[r * 4 + c] = Math.max(z, 0);
                }
            }
            assertThat(y).containsExactly(expected, within(1e-5f));
            assertThat(model.parameters()).isEqualTo(16);
            assertThat(model.opCounts()).containsEntry("MatMul", 1).containsEntry("Relu", 1);
            assertThat(model.inputs())
                    .singleElement()
                    .satisfies(in -> assertThat(in.dims()).containsExactly(-1L, 3L));
        }
    }

    @Test
    void theShapeSubgraphIsComputedForTheInputsShape() {
        // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): [n, 3, 4] -> [n, 12]
        try (OnnxModel model = new ModelBuilder(13)
                        .input("x", FLOAT, -1, 3, 4)
                        .longs("zero", new long[] {0})
                        .longs("axes", new long[] {0}, 1)
                        .longs("rest", new long[] {-1}, 1)
                        .node("Shape", new String[] {"x"}, "shape")
                        .node("Gather", new String[] {"shape", "zero"}, "n", "axis", 0L)
                        .node("Unsqueeze", new String[] {"n", "axes"}, "n1")
                        .node("Concat", new String[] {"n1", "rest"}, "target", "axis", 0L)
                        .node("Reshape", new String[] {"x", "target"}, "y")
                        .output("y")
                        .load();
                ComputeStream s = backend.openStream("shape")) {
            for (int n : new int[] {1, 5}) {
                float[] x = new float[n * 12];
                for (int i = 0; i < x.length; i++) {
                    x[i] = i;
                }
                DeviceArray y = model.run(s, Map.of("x", s.upload(x, n, 3, 4))).get("y");
                assertThat(y.shape().dims()).containsExactly(n, 12);
                assertThat(y.download()).containsExactly(x);
            }
        }
    }

    @Test
    void softmaxBeforeOpset13IsOverEverythingFromTheAxisOn() {
        float[] x = {1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 3, 4};
        for (int opset : new int[] {11, 13}) {
            try (OnnxModel model = new ModelBuilder(opset)
                            .input("x", FLOAT, 2, 2, 3)
                            .node("Softmax", new String[] {"x"}, "y", "axis", 1L)
                            .output("y")
                            .load();
                    ComputeStream s = backend.openStream("softmax")) {
                float[] y = run(model, s, "x", x, 2, 2, 3);
                float[] expected = opset < 13 ? softmax(x, 2, 6, 1) : softmax(x, 2, 2, 3);
                assertThat(y).as("opset %d", opset).containsExactly(expected, within(1e-6f));
            }
        }
    }

    /** Softmax over the middle axis of [outer, axis, inner]. */
    private static float[] softmax(float[] x, int outer, int axis, int inner) {
        float[] y = new float[x.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double sum = 0;
                for (int a = 0; a < axis; a++) {
                    sum += Math.exp(x[(o * axis + a) * inner + i]);
                }
                for (int a = 0; a < axis; a++) {
                    y[(o * axis + a) * inner + i] = (float) (Math.exp(x[(o * axis + a) * inner + i]) / sum);
                }
            }
        }
        return y;
    }

    @Test
    void reductionAxesAreAnAttributeBeforeTheirOpsetAndAnInputSince() {
        float[] x = {1, 2, 3, 4, 5, 6};
        try (OnnxModel attribute = new ModelBuilder(11)
                        .input("x", FLOAT, 2, 3)
                        .node("ReduceSum", new String[] {"x"}, "y", "axes", new long[] {1}, "keepdims", 0L)
                        .output("y")
                        .load();
                OnnxModel input = new ModelBuilder(13)
                        .input("x", FLOAT, 2, 3)
                        .longs("axes", new long[] {1}, 1)
                        .node("ReduceSum", new String[] {"x", "axes"}, "y", "keepdims", 0L)
                        .output("y")
                        .load();
                ComputeStream s = backend.openStream("reduce")) {
            assertThat(run(attribute, s, "x", x, 2, 3)).containsExactly(6, 15);
            assertThat(run(input, s, "x", x, 2, 3)).containsExactly(6, 15);
        }
    }

    @Test
    void integerDivisionTruncatesTowardZero() {
        try (OnnxModel model = new ModelBuilder(13)
                        .input("x", FLOAT, 4)
                        .longs("a", new long[] {-7, 7, 9, -9}, 4)
                        .longs("b", new long[] {2, 2, -4, -4}, 4)
                        .node("Div", new String[] {"a", "b"}, "q")
                        .node("Cast", new String[] {"q"}, "qf", "to", (long) FLOAT)
                        .node("Add", new String[] {"x", "qf"}, "y")
                        .output("y")
                        .load();
                ComputeStream s = backend.openStream("div")) {
            assertThat(run(model, s, "x", new float[4], 4)).containsExactly(-3, 3, -2, 2);
        }
    }

    @Test
    void anInputOfTheWrongShapeOrTypeIsRejectedNamingIt() {
        try (OnnxModel model = new ModelBuilder(17)
                        .input("x", FLOAT, -1, 3)
                        .node("Relu", new String[] {"x"}, "y")
                        .output("y")
                        .load();
                ComputeStream s = backend.openStream("bad-input")) {
            assertThatThrownBy(() -> model.run(s, Map.of("x", s.upload(new float[4], 2, 2))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'x'")
                    .hasMessageContaining("[?, 3]");
            assertThatThrownBy(() -> model.run(s, Map.of("x", s.upload(new long[6], 2, 3))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'x'");
            assertThatThrownBy(() -> model.run(s, Map.of()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'x'");
        }
    }

    @Test
    void manyStreamsRunOneModelAtOnceWithTheSameResults() throws Exception {
        float[] w = new float[64 * 64];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) Math.sin(i);
        }
        try (OnnxModel model = new ModelBuilder(17)
                .input("x", FLOAT, -1, 64)
                .floats("w", w, 64, 64)
                .node("MatMul", new String[] {"x", "w"}, "h")
                .node("Tanh", new String[] {"h"}, "y")
                .output("y")
                .load()) {
            float[] x = new float[8 * 64];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.cos(i);
            }
            model.prepare(backend);
            List<CompletableFuture<float[]>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                runs.add(CompletableFuture.supplyAsync(() -> {
                    try (ComputeStream s = backend.openStream("concurrent-" + id)) {
                        float[] last = null;
                        for (int r = 0; r < 20; r++) {
                            last = run(model, s, "x", x, 8, 64);
                        }
                        return last;
                    }
                }));
            }
            float[] first = runs.getFirst().get();
            for (CompletableFuture<float[]> r : runs) {
                assertThat(r.get()).containsExactly(first);
            }
            // and they agree with an independent float64 computation, not only with each other
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 64; j++) {
                    double h = 0;
                    for (int k = 0; k < 64; k++) {
                        h += (double) x[i * 64 + k] * w[k * 64 + j];
                    }
                    assertThat((double) first[i * 64 + j])
                            .as("y[%d][%d]", i, j)
                            .isCloseTo(Math.tanh(h), org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    @Test
    void theDtypeOfAnInputIsStated() {
        try (OnnxModel model = new ModelBuilder(17)
                .input("ids", INT64, -1, -1)
                .node("Cast", new String[] {"ids"}, "y", "to", (long) FLOAT)
                .output("y")
                .load()) {
            assertThat(model.inputs().getFirst().dtype()).isEqualTo(DType.INT64);
            assertThat(model.outputs()).containsExactly("y");
            assertThat(model.name()).isEqualTo("test.onnx");
        }
    }
}
