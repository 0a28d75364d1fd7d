"""The PyTorch baseline for Backplane's CUDA benchmarks, run by the Java harness in the same run on
the same GPU. Each measurement mirrors the Java one: same sizes, same repetition counts, same
synchronisation points, float32 with TF32 off. Prints one `key=value` line per result.
"""
import math
import sys
import threading
import time

import torch
import torch.nn.functional as F


def timed(fn, reps, rounds):
    """Best seconds per repetition over `rounds` timed rounds (each ends with a device sync)."""
    best = float("inf")
    for _ in range(rounds):
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def matmul(n, reps, rounds):
    g = torch.Generator(device="cuda").manual_seed(n)
    a = torch.rand((n, n), device="cuda", dtype=torch.float32, generator=g)
    b = torch.rand((n, n), device="cuda", dtype=torch.float32, generator=g)
    for _ in range(3):
        a @ b
    return 2.0 * n ** 3 / timed(lambda: a @ b, reps, rounds) / 1e9


def half_matmul(n, reps, rounds, dtype):
    g = torch.Generator(device="cuda").manual_seed(n)
    a = torch.rand((n, n), device="cuda", dtype=torch.float32, generator=g).to(dtype)
    b = torch.rand((n, n), device="cuda", dtype=torch.float32, generator=g).to(dtype)
    for _ in range(3):
        a @ b
    return 2.0 * n ** 3 / timed(lambda: a @ b, reps, rounds) / 1e9


def encoder_ms(batch, seq, hidden, heads, ffn, dtype, reps, rounds):
    """The encoder layer of Backplane's EncoderLayer (BERT's post-norm layer) in eager PyTorch with
    F.scaled_dot_product_attention; every forward pass waited for, as Backplane's eval does."""
    g = torch.Generator(device="cuda").manual_seed(1)

    def r(*shape, scale=0.05):
        return (torch.randn(shape, device="cuda", generator=g) * scale).to(dtype)

    w = {
        "wq": r(hidden, hidden), "bq": r(hidden), "wk": r(hidden, hidden), "bk": r(hidden),
        "wv": r(hidden, hidden), "bv": r(hidden), "wo": r(hidden, hidden), "bo": r(hidden),
        "g1": 1 + r(hidden), "b1": r(hidden), "w1": r(hidden, ffn), "c1": r(ffn),
        "w2": r(ffn, hidden), "c2": r(hidden), "g2": 1 + r(hidden), "b2": r(hidden),
    }
    x = torch.randn((batch, seq, hidden), device="cuda", generator=g).to(dtype)
    lengths = torch.tensor([seq - (i * 13) % seq for i in range(batch)], device="cuda")
    mask = (torch.arange(seq, device="cuda")[None, :] < lengths[:, None])[:, None, None, :]
    d = hidden // heads

    def split(t):
        return t.view(batch, seq, heads, d).transpose(1, 2)

    def forward():
        q = split(x @ w["wq"] + w["bq"])
        k = split(x @ w["wk"] + w["bk"])
        v = split(x @ w["wv"] + w["bv"])
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1 / math.sqrt(d))
        a = a.transpose(1, 2).reshape(batch, seq, hidden)
        x1 = F.layer_norm(x + a @ w["wo"] + w["bo"], (hidden,), w["g1"], w["b1"], 1e-12)
        inner = F.gelu(x1 @ w["w1"] + w["c1"])
        out = F.layer_norm(x1 + inner @ w["w2"] + w["c2"], (hidden,), w["g2"], w["b2"], 1e-12)
        torch.cuda.synchronize()
        return out

    with torch.inference_mode():
        for _ in range(3):
            forward()
        return timed(forward, reps, rounds) * 1e3


def add_bandwidth(elements, reps, rounds):
    a = torch.rand(elements, device="cuda", dtype=torch.float32)
    b = torch.rand(elements, device="cuda", dtype=torch.float32)
    for _ in range(3):
        a + b
    return 3 * 4 * elements / timed(lambda: a + b, reps, rounds) / 1e9


def dispatch_us(ops, rounds):
    a = torch.zeros(1000, device="cuda")
    b = torch.zeros(1000, device="cuda")

    def queue():
        for _ in range(ops):
            a + b

    queue()
    return timed(queue, 1, rounds) / ops * 1e6


def scenario_seconds(threads, iterations, n):
    pairs = [(torch.rand((n, n), device="cuda"), torch.rand((n, n), device="cuda")) for _ in range(threads)]
    streams = [torch.cuda.Stream() for _ in range(threads)]
    torch.cuda.synchronize()
    barrier = threading.Barrier(threads + 1)

    def work(i):
        a, b = pairs[i]
        s = streams[i]
        with torch.cuda.stream(s):
            barrier.wait()
            for _ in range(iterations):
                a @ b
                s.synchronize()  # like Backplane's eval: the result is there before the next iteration

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - t


def main():
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"torch={torch.__version__}")
    print(f"cuda={torch.version.cuda}")
    print(f"device={torch.cuda.get_device_name(0)}")
    rounds = int(args.get("rounds", "5"))
    for spec in args["matmul"].split(","):
        n, reps = (int(x) for x in spec.split(":"))
        print(f"matmul.{n}={matmul(n, reps, rounds)}", flush=True)
    if "halfmatmul" in args:
        n, reps = (int(x) for x in args["halfmatmul"].split(":"))
        for name, dtype in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
            print(f"matmul.{name}.{n}={half_matmul(n, reps, rounds, dtype)}", flush=True)
    if "encoder" in args:
        batch, seq, hidden, heads, ffn, reps = (int(x) for x in args["encoder"].split(":"))
        for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
            ms = encoder_ms(batch, seq, hidden, heads, ffn, dtype, reps, rounds)
            print(f"encoder.{name}.ms={ms}", flush=True)
    elements, reps = (int(x) for x in args["add"].split(":"))
    print(f"add.gbps={add_bandwidth(elements, reps, rounds)}", flush=True)
    print(f"dispatch.us={dispatch_us(int(args['dispatch']), rounds)}", flush=True)
    threads, iterations, n, scenario_rounds = (int(x) for x in args["scenario"].split(":"))
    for r in range(scenario_rounds):
        scenario_seconds(threads, min(100, iterations), n) if r == 0 else None  # warm-up once
        print(f"scenario.{r}={scenario_seconds(threads, iterations, n)}", flush=True)


if __name__ == "__main__":
    main()
