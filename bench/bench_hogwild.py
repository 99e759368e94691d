"""Hogwild! speed-up against thread count, on sparse and on dense data.

Logistic regression, 3 epochs after a warm-up epoch; reports wall-clock
seconds, updates per second and the speed-up over the serial compiled
baseline (threads = 1 runs the same per-row update in a plain loop), and the
final training loss (races lose updates on dense data). The locked baseline
(one global lock around every update, Python threads) runs 1 epoch and is
compared with itself at one thread: its speed-up shows what locking costs.
Run: ``python bench/bench_hogwild.py``.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from gdlib.parallel.hogwild import csr_logistic_loss, hogwild, to_csr, zipf_csr


def dense_problem(n=100_000, p=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = (X @ rng.standard_normal(p) > 0).astype(float)
    return (*to_csr(X), p), y


def main():
    sparse, y_sparse = zipf_csr(400_000, 10_000)
    dense, y_dense = dense_problem()
    print(f"{numba.config.NUMBA_NUM_THREADS} threads available")
    print("| data | threads | seconds (3 epochs) | M updates/s | speed-up | final loss |")
    print("|---|---|---|---|---|---|")
    for name, X, y in (("sparse (8 of 10 000 features, Zipf)", sparse, y_sparse), ("dense (32 features)", dense, y_dense)):
        n = len(y)
        base = None
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            hogwild(X, y, epochs=1, threads=threads)  # compile and warm up
            start = time.perf_counter()
            theta = hogwild(X, y, epochs=3, threads=threads, eta=0.05)
            seconds = time.perf_counter() - start
            base = base or seconds
            loss = csr_logistic_loss(theta, X, y)
            print(f"| {name} | {threads} | {seconds:.3f} | {3 * n / seconds / 1e6:.2f} | {base / seconds:.2f}x | "
                  f"{loss:.4f} |")
        locked_base = None
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            start = time.perf_counter()
            hogwild(X, y, epochs=1, threads=threads, eta=0.05, lock=True)
            seconds = time.perf_counter() - start
            locked_base = locked_base or seconds
            print(f"| {name}, locked | {threads} | {seconds:.3f} (1 epoch) | {n / seconds / 1e6:.2f} | "
                  f"{locked_base / seconds:.2f}x | |")


if __name__ == "__main__":
    main()
