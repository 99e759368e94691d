"""Speed of one optimizer step: gdlib against NumPy, torch.optim and the memory floor.

For every optimizer of ``gdlib.ALL``, array size (10^4, 10^6, 10^7 by default)
and dtype (float32, float64), these implementations are timed in interleaved
rounds (``bench/harness.py``: median [IQR], re-measured and then flagged when
below the floor or noisier than the stated bound):

* ``gdlib``          ``opt.step(theta, g, state)``, the default: validation and
                     the finite-gradient guarantee (a NaN or inf raises before
                     anything is updated);
* ``gdlib nocheck``  the same with ``check_finite=False``;
* ``kernel``         the packed compiled step called directly (no Python
                     validation, no check): ``gdlib nocheck − kernel`` is the
                     Python overhead per step;
* ``numpy``          the textbook NumPy transcription (``gdlib.reference``),
                     only up to ``--numpy-max`` elements;
* ``torch foreach``, ``torch fused``: ``torch.optim`` with ``foreach=True`` /
                     ``fused=True`` where torch has it on the CPU;
* ``context``        for LARS and LAMB (torch has neither): the default step of
                     the method each scales per layer (Momentum, AdamW), same rounds;
* ``copy``           the bandwidth probe: a compiled multi-threaded copy in
                     place (dst += src) whose footprint equals the optimizer's
                     working set (θ, g and the state), timed in the same rounds.
                     Bandwidth = bytes it moves (read both, write one) / its
                     median, so that a row's median is compared with a floor
                     measured alike (the fastest sample of the probe against
                     the median of a step inflated every ratio on a loaded
                     machine).

The **floor** of a step is the bytes it must move (read θ, g and each state
vector, write θ and each state vector) / that bandwidth. The default step's
guarantee (nothing is updated unless all of g is finite) needs all of g read
before the first write, so its own floor, **floor + check**, adds one read of
g (except for LARS, whose norms pass reads g first anyway): for SGD 4 arrays
against 3, the reason its default step cannot match a step without the check. LARS and LAMB cannot
update in one pass: a layer's trust ratio needs its norms before any of its
entries moves, so their floor counts their minimal two passes (``PASSES``):
LARS reads θ and g for the norms, then reads θ, g, v and writes θ, v (7
arrays); LAMB updates m and v and sums the norms from them in one pass (reads
g, m, v, θ, writes m, v), then reads θ, m, v and writes θ (10 arrays). A median below
0.95 × floor is a measurement error, flagged ``!``; so is a relative IQR over
the bound (``--spread``). Threads are pinned (``--threads``, default all cores)
in Numba and torch.

Run: ``make bench`` or ``python bench/bench_optimizers.py [--sizes 1e7] [--dtypes float32]
[--optimizers Adam,SGD] [--json out.json]``; compare two runs with
``python bench/harness.py --compare old.json new.json``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

import gdlib  # noqa: E402
from gdlib import reference as ref  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch columns
    torch = None


def _t(cls, **kw):
    return lambda p, impl: cls(p, **kw, **impl)


# name: (reference factory(theta), torch factory(params, impl) or None)
PEERS = {
    "SGD": (lambda th: ref.SGD(th, 0.01), lambda p, i: torch.optim.SGD(p, lr=0.01, **i)),
    "Momentum": (lambda th: ref.Momentum(th, 0.01, 0.9), lambda p, i: torch.optim.SGD(p, lr=0.01, momentum=0.9, **i)),
    "Nesterov": (lambda th: ref.NesterovShifted(th, 0.01, 0.9),
                 lambda p, i: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, **i)),
    "Adagrad": (lambda th: ref.Adagrad(th, 0.01, 1e-8), lambda p, i: torch.optim.Adagrad(p, lr=0.01, **i)),
    "Adadelta": (lambda th: ref.Adadelta(th, 0.9, 1e-6), lambda p, i: torch.optim.Adadelta(p, **i)),
    "RMSprop": (lambda th: ref.RMSprop(th, 0.001, 0.9, 1e-8), lambda p, i: torch.optim.RMSprop(p, lr=0.001, **i)),
    "Adam": (lambda th: ref.Adam(th, 0.001, 0.9, 0.999, 1e-8), lambda p, i: torch.optim.Adam(p, lr=0.001, **i)),
    "AdaMax": (lambda th: ref.AdaMax(th, 0.002, 0.9, 0.999), lambda p, i: torch.optim.Adamax(p, lr=0.002, **i)),
    "Nadam": (lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8), lambda p, i: torch.optim.NAdam(p, lr=0.002, **i)),
    "AMSGrad": (lambda th: ref.AMSGrad(th, 0.001, 0.9, 0.999, 1e-8),
                lambda p, i: torch.optim.Adam(p, lr=0.001, amsgrad=True, **i)),
    "AdamW": (lambda th: ref.AdamW(th, 0.001, 0.9, 0.999, 1e-8, 0.01),
              lambda p, i: torch.optim.AdamW(p, lr=0.001, weight_decay=0.01, **i)),
}
OPTIMIZERS = {cls.__name__: cls for cls in gdlib.ALL}
COLUMNS = ("gdlib", "gdlib nocheck", "kernel", "numpy", "torch foreach", "torch fused", "context")
# torch has no LARS or LAMB: the element-wise method each one scales per layer
# is timed in the same rounds (its default step) as context.
CONTEXT = {"LARS": "Momentum", "LAMB": "AdamW"}
# arrays of n elements the minimal passes of a two-pass step move (reads + writes; see the docstring)
PASSES = {"LARS": 2 + 5, "LAMB": 6 + 4}
#: The finite-gradient guarantee (nothing updated unless all of g is finite) needs all of g read before
#: the first write: one more read of g, except where a pass made anyway reads g first (LARS's norms).
CHECK_RIDES_ALONG = {"LARS"}


def calls_for(name, n, dtype, rng, numpy_max):
    """The zero-argument step calls of one row, and the bytes one step moves."""
    cls = OPTIMIZERS[name]
    make_ref, make_torch = PEERS.get(name, (None, None))
    theta = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 1e-3).astype(dtype)
    calls = {}
    for label, check in (("gdlib", True), ("gdlib nocheck", False)):
        opt = cls(check_finite=check)
        th = theta.copy()
        state = opt.init(th)
        calls[label] = (lambda o, t, s: lambda: o.step(t, g, s))(opt, th, state)
    opt = cls(check_finite=False)
    th = theta.copy()
    state = opt.init(th)
    h, c, buf = opt.hyper, state.counters, state.buffer
    calls["kernel"] = lambda: opt._packed_step(th, g, buf, h, c)
    if make_ref is not None and n <= numpy_max:
        r = make_ref(theta.copy())
        calls["numpy"] = lambda: r.step(g)
    if torch is not None and make_torch is not None:
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        for label, impl in (("torch foreach", {"foreach": True}), ("torch fused", {"fused": True})):
            p = torch.nn.Parameter(torch.tensor(theta, dtype=tdtype))
            p.grad = torch.tensor(g, dtype=tdtype)
            try:
                topt = make_torch([p], impl)
            except (RuntimeError, TypeError, ValueError):
                continue  # no such implementation for this optimizer on the CPU
            calls[label] = (lambda o: lambda: o.step())(topt)
    if name in CONTEXT:
        other = OPTIMIZERS[CONTEXT[name]]()
        th = theta.copy()
        state = other.init(th)
        calls["context"] = (lambda o, t, s: lambda: o.step(t, g, s))(other, th, state)
    k = len(cls.state_names)
    itemsize = np.dtype(dtype).itemsize
    footprint = (2 + k) * n * itemsize
    moved = PASSES.get(name, 2 + 2 * k + 1) * n * itemsize  # one pass: read θ, g, S; write θ, S
    probe, copy_bytes = harness.copy_probe(footprint, parallel=n >= gdlib._numba.parallel_min_size())
    calls["copy"] = probe
    checked = moved + (0 if name in CHECK_RIDES_ALONG else n * itemsize)
    return calls, moved, checked, copy_bytes


def bench_row(name, n, dtype, rng, args):
    calls, moved, checked, copy_bytes = calls_for(name, n, dtype, rng, args.numpy_max)

    def floor_of(result):
        bandwidth = copy_bytes / result["copy"]["median"]
        return {k: moved / bandwidth for k in calls if k not in ("copy", "context")}

    with torch.no_grad() if torch is not None else _null():
        result = harness.measure(calls, rounds=args.rounds, sample_s=args.sample, retries=args.retries,
                                 spread_bound=args.spread, floor_of=floor_of)
    floor = floor_of(result)["gdlib"]
    for row in result.values():
        row.pop("samples") if not args.samples else None
    return {"impls": result, "floor": floor, "checked_floor": floor * checked / moved,
            "bandwidth_GBps": copy_bytes / result["copy"]["median"] / 1e9, "bytes_moved": moved}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def ratio(a, b):
    return f"{a['median'] / b['median']:.2f}" if a and b else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e4,1e6,1e7")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--threads", type=int, default=None, help="Numba and torch threads (default: all cores)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per row")
    parser.add_argument("--sample", type=float, default=0.02, help="seconds per sample")
    parser.add_argument("--retries", type=int, default=2, help="re-measurements of a flagged row")
    parser.add_argument("--spread", type=float, default=harness.SPREAD_BOUND, help="bound on the relative IQR")
    parser.add_argument("--numpy-max", type=float, default=1e6, help="largest size timed with NumPy")
    parser.add_argument("--samples", action="store_true", help="keep every sample in the JSON")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "optimizers.json"))
    args = parser.parse_args(argv)
    threads = harness.pin_threads(args.threads)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]
    env = harness.environment(threads)
    print(harness.describe(env))
    print(f"parallel twin from {gdlib._numba.parallel_min_size()} elements; {args.rounds} interleaved rounds "
          f"of ~{args.sample * 1e3:.0f} ms per implementation; median [IQR]; ! = flagged after "
          f"{args.retries} re-measurements (below 0.95 x floor, or relative IQR > {args.spread:.0%})")
    header = ("optimizer", "n", "dtype", *COLUMNS, "floor", "GB/s", "gdlib/floor", "gdlib/(floor + check)",
              "gdlib/best torch", "nocheck/best torch", "python overhead")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    rows = {}
    rng = np.random.default_rng(0)
    for n in sizes:
        for dtype in dtypes:
            for name in args.optimizers.split(","):
                row = bench_row(name, n, dtype, rng, args)
                key = f"{name} n={n:.0e} {np.dtype(dtype).name}"
                rows[key] = row
                impls = row["impls"]
                torches = [impls[c] for c in ("torch foreach", "torch fused") if c in impls]
                best_torch = min(torches, key=lambda r: r["median"]) if torches else None
                overhead = impls["gdlib nocheck"]["median"] - impls["kernel"]["median"]
                trusted = not (impls["gdlib nocheck"]["flags"] or impls["kernel"]["flags"])
                cells = [name, f"{n:.0e}", np.dtype(dtype).name, *(harness.fmt_row(impls.get(c)) for c in COLUMNS),
                         harness.fmt_time(row["floor"]), f"{row['bandwidth_GBps']:.0f}",
                         f"{impls['gdlib']['median'] / row['floor']:.2f}",
                         f"{impls['gdlib']['median'] / row['checked_floor']:.2f}", ratio(impls["gdlib"], best_torch),
                         ratio(impls["gdlib nocheck"], best_torch),
                         harness.fmt_time(overhead) if trusted and overhead > 0 else "(noise)"]
                print("| " + " | ".join(cells) + " |", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    env = harness.save(args.json, env, rows, meta=vars(args))
    print(f"load average after: {harness.fmt_load(env['load_after'])}; JSON: {args.json}")


if __name__ == "__main__":
    main()
