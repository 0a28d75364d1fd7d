"""The numpy/OpenBLAS baseline for Backplane's CPU benchmarks, run by the Java harness in the same run.

Prints one JSON object: matmul GFLOP/s per size (best of several timed rounds) and the wall time of
the motivating scenario (8 Python threads x 1000 iterations x a 512x512 matmul each).
"""
import json
import sys
import threading
import time

import numpy as np


def matmul_gflops(n, rounds=5):
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    for _ in range(3):
        a @ b
    reps = max(3, int(2e10 / (2.0 * n ** 3)))
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    return 2.0 * n ** 3 / best / 1e9


def scenario_seconds(iterations, threads=8, n=512):
    rng = np.random.default_rng(2)
    inputs = [(rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)) for _ in range(threads)]

    def work(a, b):
        for _ in range(iterations):
            a @ b

    workers = [threading.Thread(target=work, args=pair) for pair in inputs]
    t = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t


def main():
    sizes = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [256, 512, 1024, 2048]
    scenario_rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    result = {
        "numpy": np.__version__,
        "blas": np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("name", "?")
        + " " + str(np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("version", "")),
        "matmul_gflops": {str(n): matmul_gflops(n) for n in sizes},
        "scenario_seconds": [scenario_seconds(iterations) for _ in range(scenario_rounds)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
