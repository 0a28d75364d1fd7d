"""The PyTorch baseline for Backplane's CUDA benchmarks, run by the Java harness in the same run on
the same GPU. Each measurement mirrors the Java one: same sizes, same repetition counts, same
synchronisation points, float32 with TF32 off. Prints one `key=value` line per result.
"""
import sys
import threading
import time

import torch


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
    elements, reps = (int(x) for x in args["add"].split(":"))
    print(f"add.gbps={add_bandwidth(elements, reps, rounds)}", flush=True)
    print(f"dispatch.us={dispatch_us(int(args['dispatch']), rounds)}", flush=True)
    threads, iterations, n, scenario_rounds = (int(x) for x in args["scenario"].split(":"))
    for r in range(scenario_rounds):
        scenario_seconds(threads, min(100, iterations), n) if r == 0 else None  # warm-up once
        print(f"scenario.{r}={scenario_seconds(threads, iterations, n)}", flush=True)


if __name__ == "__main__":
    main()
