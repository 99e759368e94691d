"""Hogwild! speed-up against thread count, on sparse and on dense data.

Logistic regression, 3 epochs after a warm-up epoch; reports wall-clock
seconds, updates per second and the speed-up over the serial compiled
baseline (threads = 1 runs the same per-row update in a plain loop), and the
final training loss (races lose updates on dense data). The locked baseline
(one global lock around every update, Python threads) runs 1 epoch and is
compared with itself at one thread: its speed-up shows what locking costs.
Every timing is repeated (``--repeats``, 5 by default) and reported as the
median with the range: thread timing varies from run to run, and on a
shared machine one run alone says little.
Run: ``python bench/bench_hogwild.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from gdlib.parallel.hogwild import csr_logistic_loss, hogwild, to_csr, zipf_csr


def dense_problem(n=100_000, p=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = (X @ rng.standard_normal(p) > 0).astype(float)
    return (*to_csr(X), p), y


def timed(repeats, run):
    """(median seconds, min, max, last result) over ``repeats`` runs of ``run()``."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (median reported)")
    repeats = parser.parse_args(argv).repeats
    sparse, y_sparse = zipf_csr(400_000, 10_000)
    dense, y_dense = dense_problem()
    print(f"{numba.config.NUMBA_NUM_THREADS} threads available; median of {repeats} runs [min–max]")
    print("| data | threads | seconds (3 epochs) | M updates/s | speed-up | final loss |")
    print("|---|---|---|---|---|---|")
    for name, X, y in (("sparse (8 of 10 000 features, Zipf)", sparse, y_sparse), ("dense (32 features)", dense, y_dense)):
        n = len(y)
        base = None
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            hogwild(X, y, epochs=1, threads=threads)  # compile and warm up
            seconds, low, high, theta = timed(repeats, lambda: hogwild(X, y, epochs=3, threads=threads, eta=0.05))
            base = base or seconds
            loss = csr_logistic_loss(theta, X, y)
            print(f"| {name} | {threads} | {seconds:.3f} [{low:.3f}–{high:.3f}] | {3 * n / seconds / 1e6:.2f} | "
                  f"{base / seconds:.2f}x | {loss:.4f} |")
        locked_base = None
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            seconds, low, high, _ = timed(repeats, lambda: hogwild(X, y, epochs=1, threads=threads, eta=0.05,
                                                                   lock=True))
            locked_base = locked_base or seconds
            print(f"| {name}, locked | {threads} | {seconds:.3f} [{low:.3f}–{high:.3f}] (1 epoch) | "
                  f"{n / seconds / 1e6:.2f} | {locked_base / seconds:.2f}x | |")


if __name__ == "__main__":
    main()
