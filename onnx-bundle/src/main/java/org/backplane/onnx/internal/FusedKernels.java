package org.backplane.onnx.internal;

import static org.backplane.onnx.internal.OpKernel.one;

import java.util.Map;
import org.backplane.api.ComputeStream;
import org.backplane.api.DeviceArray;

/** The fused nodes {@link Fusions} makes: Backplane's layer norm, GELU and attention ops. */
final class FusedKernels {
    private FusedKernels() {}

    static void register(Map<String, OpKernel> k) {
        k.put(
                Fusions.LAYER_NORM,
                (run, node, in) -> one(new Value.Device(run.s.layerNorm(
                        run.device(in[0]), run.device(in[1]), run.device(in[2]), node.f("epsilon", 1e-12f)))));
        k.put(Fusions.GELU, (run, node, in) -> one(new Value.Device(run.s.gelu(run.device(in[0])))));
        k.put(Fusions.ATTENTION, FusedKernels::attention);
    }

    /** {@code softmax(q kT * scale + mask) v}, with kT as the graph had it ({@code [..., d, Lk]}). */
    private static Value[] attention(Run run, Node node, Value[] in) {
        ComputeStream s = run.s;
        DeviceArray q = run.device(in[0]);
        DeviceArray kT = run.device(in[1]);
        DeviceArray v = run.device(in[2]);
        DeviceArray mask = in.length > 3 && in[3] != null ? run.device(in[3]) : null;
        float scale = node.f("scale", 1f);
        int rank = q.shape().rank();
        long axis = node.i("softmax_axis", -1);
        boolean last = axis == -1 || axis == rank - 1;
        if (last && rank >= 2 && kT.shape().rank() >= 2) {
            int kr = kT.shape().rank();
            int[] swap = new int[kr];
            for (int i = 0; i < kr; i++) {
                swap[i] = i;
            }
            swap[kr - 2] = kr - 1;
            swap[kr - 1] = kr - 2;
            return one(new Value.Device(s.scaledDotProductAttention(q, s.transpose(kT, swap), v, mask, scale)));
        }
        // The softmax is over another axis: the sequence as it was.
        DeviceArray scores = s.mul(s.matmul(q, kT), (double) scale);
        if (mask != null) {
            scores = s.add(scores, mask);
        }
        return one(new Value.Device(s.matmul(s.softmax(scores, (int) axis), v)));
    }
}
