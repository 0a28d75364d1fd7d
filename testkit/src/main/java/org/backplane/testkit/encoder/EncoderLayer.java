package org.backplane.testkit.encoder;

import org.backplane.api.ComputeStream;
import org.backplane.api.DType;
import org.backplane.api.DeviceArray;

/**
 * One transformer encoder layer written only with Backplane's public API: multi-head
 * self-attention with a padding mask, then a GELU MLP, each followed by a residual connection and
 * a layer norm (BERT's post-norm layer). The weights are uploaded once, in the type the layer
 * computes in ({@code float32}, {@code float16} or {@code bfloat16}).
 */
public final class EncoderLayer {
    private final ComputeStream s;
    private final EncoderWeights w;
    private final DType type;
    private final DeviceArray wq;
    private final DeviceArray bq;
    private final DeviceArray wk;
    private final DeviceArray bk;
    private final DeviceArray wv;
    private final DeviceArray bv;
    private final DeviceArray wo;
    private final DeviceArray bo;
    private final DeviceArray gamma1;
    private final DeviceArray beta1;
    private final DeviceArray w1;
    private final DeviceArray b1;
    private final DeviceArray w2;
    private final DeviceArray b2;
    private final DeviceArray gamma2;
    private final DeviceArray beta2;

    public EncoderLayer(ComputeStream s, EncoderWeights w, DType type) {
        this.s = s;
        this.w = w;
        this.type = type;
        int h = w.hidden();
        wq = upload(w.wq(), h, h);
        bq = upload(w.bq(), h);
        wk = upload(w.wk(), h, h);
        bk = upload(w.bk(), h);
        wv = upload(w.wv(), h, h);
        bv = upload(w.bv(), h);
        wo = upload(w.wo(), h, h);
        bo = upload(w.bo(), h);
        gamma1 = upload(w.gamma1(), h);
        beta1 = upload(w.beta1(), h);
        w1 = upload(w.w1(), h, w.ffn());
        b1 = upload(w.b1(), w.ffn());
        w2 = upload(w.w2(), w.ffn(), h);
        b2 = upload(w.b2(), h);
        gamma2 = upload(w.gamma2(), h);
        beta2 = upload(w.beta2(), h);
    }

    private DeviceArray upload(float[] values, int... shape) {
        DeviceArray a = s.upload(values, shape);
        return type == DType.FLOAT32 ? a : s.astype(a, type);
    }

    /** The layer's input in its type: {@code x [batch, seq, hidden]} from float32 values. */
    public DeviceArray input(float[] x, int batch, int seq) {
        return upload(x, batch, seq, w.hidden());
    }

    /** A padding mask {@code [batch, 1, 1, seq]}: token {@code t} of sequence {@code b} is attended to when {@code t < lengths[b]}. */
    public DeviceArray mask(int[] lengths, int seq) {
        boolean[] keep = new boolean[lengths.length * seq];
        for (int b = 0; b < lengths.length; b++) {
            for (int t = 0; t < seq; t++) {
                keep[b * seq + t] = t < lengths[b];
            }
        }
        return s.upload(keep, lengths.length, 1, 1, seq);
    }

    /** {@code x [batch, seq, hidden]} through the layer; queued, not waited for. */
    public DeviceArray forward(DeviceArray x, DeviceArray mask) {
        int batch = x.shape().dim(0);
        int seq = x.shape().dim(1);
        int h = w.hidden();
        int heads = w.heads();
        int d = w.headDim();
        DeviceArray q = heads(s.add(s.matmul(x, wq), bq), batch, seq, heads, d);
        DeviceArray k = heads(s.add(s.matmul(x, wk), bk), batch, seq, heads, d);
        DeviceArray v = heads(s.add(s.matmul(x, wv), bv), batch, seq, heads, d);
        DeviceArray attention = s.scaledDotProductAttention(q, k, v, mask, (float) (1 / Math.sqrt(d)));
        DeviceArray merged = s.reshape(s.transpose(attention, 0, 2, 1, 3), batch, seq, h);
        DeviceArray x1 = s.layerNorm(s.add(x, s.add(s.matmul(merged, wo), bo)), gamma1, beta1, EncoderWeights.EPSILON);
        DeviceArray inner = s.gelu(s.add(s.matmul(x1, w1), b1));
        DeviceArray out = s.add(s.matmul(inner, w2), b2);
        return s.layerNorm(s.add(x1, out), gamma2, beta2, EncoderWeights.EPSILON);
    }

    /** {@code [batch, seq, heads * d]} as {@code [batch, heads, seq, d]} (a view). */
    private DeviceArray heads(DeviceArray t, int batch, int seq, int heads, int d) {
        return s.transpose(s.reshape(t, batch, seq, heads, d), 0, 2, 1, 3);
    }
}
