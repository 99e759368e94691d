"""Speed of one optimizer step: gdlib against NumPy, torch.optim and the memory floor.

For every optimizer, array size (10^4, 10^6, 10^7 by default) and dtype, the
median time of one step of:

* ``gdlib``        ``opt.step(theta, g, state)``: the public Python call, with
                   its validation and finite-gradient check;
* ``gdlib nocheck``the same with ``check_finite=False``;
* ``numpy``        the textbook NumPy transcription (``tests/reference.py``);
* ``torch``        ``torch.optim`` with ``foreach=True``, and ``fused=True``
                   where torch has a fused CPU kernel (Adam, AMSGrad, SGD, Adagrad);
* ``floor``        a compiled, multi-threaded loop that reads and writes exactly
                   the arrays the update must (θ, g and each state vector,
                   trivial arithmetic): the time the memory system needs to
                   move those bytes. Its bandwidth (bytes / best time) is
                   printed too. On this machine a 10^7 float32 working set
                   partly fits the 260 MB L3 cache, so the floor is measured at
                   the same size rather than taken from one large-array figure.

Run: ``make bench`` or ``python bench/bench_optimizers.py [--sizes 1e4,1e6] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np
from numba import prange

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import gdlib  # noqa: E402
import reference as ref  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch columns
    torch = None

# name: (gdlib factory(check_finite), reference factory(theta), torch factory(params, impl) or None,
#        number of state vectors)
OPTIMIZERS = {
    "SGD": (lambda c: gdlib.SGD(0.01, check_finite=c), lambda th: ref.SGD(th, 0.01),
            lambda p, impl: torch.optim.SGD(p, lr=0.01, **impl), 0),
    "Momentum": (lambda c: gdlib.Momentum(check_finite=c), lambda th: ref.Momentum(th, 0.01, 0.9),
                 lambda p, impl: torch.optim.SGD(p, lr=0.01, momentum=0.9, **impl), 1),
    "Nesterov": (lambda c: gdlib.Nesterov(form="shifted", check_finite=c),
                 lambda th: ref.NesterovShifted(th, 0.01, 0.9),
                 lambda p, impl: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, **impl), 1),
    "Adagrad": (lambda c: gdlib.Adagrad(check_finite=c), lambda th: ref.Adagrad(th, 0.01, 1e-8),
                lambda p, impl: torch.optim.Adagrad(p, lr=0.01, **impl), 1),
    "Adadelta": (lambda c: gdlib.Adadelta(check_finite=c), lambda th: ref.Adadelta(th, 0.9, 1e-6),
                 lambda p, impl: torch.optim.Adadelta(p, **impl), 2),
    "RMSprop": (lambda c: gdlib.RMSprop(check_finite=c), lambda th: ref.RMSprop(th, 0.001, 0.9, 1e-8),
                lambda p, impl: torch.optim.RMSprop(p, lr=0.001, **impl), 1),
    "Adam": (lambda c: gdlib.Adam(check_finite=c), lambda th: ref.Adam(th, 0.001, 0.9, 0.999, 1e-8),
             lambda p, impl: torch.optim.Adam(p, lr=0.001, **impl), 2),
    "AdaMax": (lambda c: gdlib.AdaMax(check_finite=c), lambda th: ref.AdaMax(th, 0.002, 0.9, 0.999),
               lambda p, impl: torch.optim.Adamax(p, lr=0.002, **impl), 2),
    "Nadam": (lambda c: gdlib.Nadam(check_finite=c), lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8),
              lambda p, impl: torch.optim.NAdam(p, lr=0.002, **impl), 2),
    "AMSGrad": (lambda c: gdlib.AMSGrad(check_finite=c), lambda th: ref.AMSGrad(th, 0.001, 0.9, 0.999, 1e-8),
                lambda p, impl: torch.optim.Adam(p, lr=0.001, amsgrad=True, **impl), 3),
}


# The floor probes: read θ, g and every state vector once, write θ and every
# state vector once, with the least arithmetic (one multiply-add each).
@numba.njit(parallel=True, error_model="numpy", cache=True)
def _touch0(theta, g, s):
    for i in prange(theta.size):
        theta[i] = theta[i] * s + g[i]


@numba.njit(parallel=True, error_model="numpy", cache=True)
def _touch1(theta, g, a, s):
    for i in prange(theta.size):
        a[i] = a[i] * s + g[i]
        theta[i] = theta[i] * s + g[i]


@numba.njit(parallel=True, error_model="numpy", cache=True)
def _touch2(theta, g, a, b, s):
    for i in prange(theta.size):
        a[i] = a[i] * s + g[i]
        b[i] = b[i] * s + g[i]
        theta[i] = theta[i] * s + g[i]


@numba.njit(parallel=True, error_model="numpy", cache=True)
def _touch3(theta, g, a, b, c, s):
    for i in prange(theta.size):
        a[i] = a[i] * s + g[i]
        b[i] = b[i] * s + g[i]
        c[i] = c[i] * s + g[i]
        theta[i] = theta[i] * s + g[i]


TOUCH = (_touch0, _touch1, _touch2, _touch3)


def median_time(call, budget):
    """Median seconds per call; repeats enough calls per sample to last ~budget/15."""
    call()
    t = time.perf_counter()
    call()
    once = max(time.perf_counter() - t, 1e-7)
    inner = max(1, int(budget / 15 / once))
    samples = []
    for _ in range(15):
        t = time.perf_counter()
        for _ in range(inner):
            call()
        samples.append((time.perf_counter() - t) / inner)
    return float(np.median(samples)), float(np.min(samples))


def bench_one(name, n, dtype, budget, rng):
    make, make_ref, make_torch, n_state = OPTIMIZERS[name]
    theta = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 1e-3).astype(dtype)
    row = {}
    for label, check in (("gdlib", True), ("gdlib nocheck", False)):
        opt = make(check)
        th = theta.copy()
        state = opt.init(th)
        row[label] = median_time(lambda: opt.step(th, g, state), budget)[0]
    r = make_ref(theta.copy())
    row["numpy"] = median_time(lambda: r.step(g), budget)[0]
    if torch is not None:
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        for label, impl in (("torch foreach", {"foreach": True}), ("torch fused", {"fused": True})):
            p = torch.nn.Parameter(torch.tensor(theta, dtype=tdtype))
            p.grad = torch.tensor(g, dtype=tdtype)
            try:
                topt = make_torch([p], impl)
                with torch.no_grad():
                    row[label] = median_time(topt.step, budget)[0]
            except (RuntimeError, TypeError, ValueError):
                row[label] = None  # no such implementation for this optimizer
    th = theta.copy()
    rows = [np.zeros(n, dtype=dtype) for _ in range(n_state)]
    touch = TOUCH[n_state]
    median, best = median_time(lambda: touch(th, g, *rows, dtype(1.0)), budget)
    itemsize = np.dtype(dtype).itemsize
    moved = (2 + 2 * n_state + 1) * n * itemsize  # read θ, g, S; write θ, S
    row["floor"] = median
    row["bandwidth GB/s"] = moved / best / 1e9
    return row


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e4,1e6,1e7")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]
    names = args.optimizers.split(",")
    if torch is not None:
        torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    rng = np.random.default_rng(0)
    print(f"gdlib {gdlib.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'absent'}, {numba.config.NUMBA_NUM_THREADS} threads, "
          f"parallel from {gdlib._numba.parallel_min_size()} elements")
    cols = ["gdlib", "gdlib nocheck", "numpy", "torch foreach", "torch fused", "floor"]
    header = f"| optimizer | n | dtype | " + " | ".join(cols) + " | gdlib/floor | gdlib/best torch | floor GB/s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for n in sizes:
        for dtype in dtypes:
            for name in names:
                row = bench_one(name, n, dtype, args.budget, rng)
                torch_times = [row.get(c) for c in ("torch foreach", "torch fused") if row.get(c)]
                best_torch = min(torch_times) if torch_times else None
                ratio_torch = f"{row['gdlib'] / best_torch:.2f}" if best_torch else "-"
                print(f"| {name} | {n:.0e} | {np.dtype(dtype).name} | "
                      + " | ".join(fmt_time(row.get(c)) for c in cols)
                      + f" | {row['gdlib'] / row['floor']:.2f} | {ratio_torch} | {row['bandwidth GB/s']:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
