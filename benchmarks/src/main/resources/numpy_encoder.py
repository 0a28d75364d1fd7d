"""The numpy baseline for Backplane's encoder-layer benchmark, run by the Java harness in the same run:
the same transformer encoder layer (BERT's post-norm layer: q/k/v projections, 12-head attention with a
padding mask, output projection, GELU MLP, two layer norms) in float32 numpy (BLAS matmuls, scipy's
erf). Prints `key=value` lines: the best milliseconds per forward pass over the timed rounds.

Usage: numpy_encoder.py batch=8 seq=128 hidden=384 heads=12 ffn=1536 reps=10 rounds=5
"""
import sys
import time

import numpy as np
from scipy.special import erf


def layer_norm(x, gamma, beta, eps=1e-12):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def forward(x, mask, w, heads):
    """The layer, written as well as numpy allows: linear layers on 2-D [b * s, h] matrices and
    contiguous heads, so that every product takes numpy's BLAS path (3-D-by-2-D and strided stacked
    products fall back to loops one to two orders of magnitude slower)."""
    b, s, h = x.shape
    d = h // heads
    x = x.reshape(b * s, h)

    def split(t, order=(0, 2, 1, 3)):
        return np.ascontiguousarray(t.reshape(b, s, heads, d).transpose(*order))

    q = split(x @ w["wq"] + w["bq"])
    k_t = split(x @ w["wk"] + w["bk"], (0, 2, 3, 1))
    v = split(x @ w["wv"] + w["bv"])
    scores = (q @ k_t) * np.float32(1 / np.sqrt(d))
    scores = np.where(mask, scores, np.float32(-np.inf))
    scores = scores - scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    attention = (p @ v).transpose(0, 2, 1, 3).reshape(b * s, h)
    x1 = layer_norm(x + attention @ w["wo"] + w["bo"], w["g1"], w["b1"])
    inner = x1 @ w["w1"] + w["c1"]
    inner = np.float32(0.5) * inner * (np.float32(1) + erf(inner * np.float32(0.7071067811865476)))
    return layer_norm(x1 + inner @ w["w2"] + w["c2"], w["g2"], w["b2"]).reshape(b, s, h)


def main():
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    batch, seq, hidden = int(args["batch"]), int(args["seq"]), int(args["hidden"])
    heads, ffn = int(args["heads"]), int(args["ffn"])
    reps, rounds = int(args["reps"]), int(args["rounds"])
    rng = np.random.default_rng(1)

    def r(*shape, scale=0.05):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "wq": r(hidden, hidden), "bq": r(hidden), "wk": r(hidden, hidden), "bk": r(hidden),
        "wv": r(hidden, hidden), "bv": r(hidden), "wo": r(hidden, hidden), "bo": r(hidden),
        "g1": 1 + r(hidden), "b1": r(hidden), "w1": r(hidden, ffn), "c1": r(ffn),
        "w2": r(ffn, hidden), "c2": r(hidden), "g2": 1 + r(hidden), "b2": r(hidden),
    }
    x = rng.standard_normal((batch, seq, hidden)).astype(np.float32)
    lengths = np.array([seq - (i * 13) % seq for i in range(batch)])
    mask = (np.arange(seq)[None, :] < lengths[:, None])[:, None, None, :]
    for _ in range(2):
        forward(x, mask, w, heads)
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            forward(x, mask, w, heads)
        best = min(best, (time.perf_counter() - t) / reps)
    print(f"numpy={np.__version__}")
    print(f"encoder.float32.ms={best * 1e3}")


if __name__ == "__main__":
    main()
