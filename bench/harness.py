"""A timing harness whose figures can be believed on a noisy, shared machine.

What it does, and why:

* **Interleaved rounds.** The implementations of one comparison are timed
  round by round (A, B, C, A, B, C, ... with the order rotated each round),
  never one after the other: a burst of load from another process then hits
  every implementation alike instead of one of them.
* **Median with its spread.** Each round gives one sample (the mean of
  ``inner`` calls, ``inner`` calibrated so a sample lasts ``sample_s``); a
  row reports the median, the interquartile range and the min–max.
* **Pinned threads.** :func:`pin_threads` sets Numba's and torch's thread
  counts to one stated value; :func:`environment` records them, the versions,
  the CPU and the load average before and after.
* **Sanity checks.** :func:`check` flags a row whose median lies below its
  physical floor (bytes moved / the bandwidth measured by a copy probe timed
  in the same rounds) or whose relative IQR exceeds ``spread_bound``; the
  callers re-measure a flagged comparison (``measure(..., retries=)``) and
  print what is still flagged with a ``!`` and the reason, never as a clean
  figure.
* **JSON beside the table.** :func:`save` writes every row (samples and
  flags included) and the environment; :func:`compare` prints two such files
  side by side (``python bench/harness.py --compare old.json new.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

# torch's and Numba's OpenMP threads share the cores: with the default
# (active) wait policy each side's idle threads spin and steal the other's
# time slices, which quantised timings to the scheduler's 4-8 ms slices.
# Passive waiting, set before either loads libgomp, is stated in the header.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import prange  # noqa: E402

#: a relative IQR above this is "noisy": re-measured, then flagged
SPREAD_BOUND = 0.10
#: a median below (1 - FLOOR_SLACK) x its floor is a measurement error
FLOOR_SLACK = 0.05


def pin_threads(n=None):
    """Use ``n`` threads (default: every core Numba sees) in Numba and torch; returns n."""
    n = int(n or numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    try:
        import torch
    except ImportError:
        return n
    torch.set_num_threads(n)
    return n


def environment(threads):
    """What a reader needs to judge the figures."""
    try:
        import torch
        torch_version = torch.__version__
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_version, torch_threads = None, None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.get_num_threads(),
        "torch_threads": torch_threads, "threads_pinned": threads,
        "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
        "torch": torch_version, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "load_before": os.getloadavg(),
    }


def describe(env):
    return (f"{env['cpu']}, {env['cores']} cores; threads pinned: numba {env['numba_threads']}, "
            f"torch {env['torch_threads']}, OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY')}; numpy {env['numpy']}, numba {env['numba']}, torch {env['torch']}; "
            f"load average {fmt_load(env['load_before'])} before"
            + (f", {fmt_load(env['load_after'])} after" if "load_after" in env else ""))


def fmt_load(load):
    return "/".join(f"{x:.2f}" for x in load)


# -- the bandwidth probe, measured in the same rounds --------------------------
# A copy in place: dst[i] += src[i]. It reads and writes like an optimizer
# step (a read-modify-write stream and a read-only one), so no
# read-for-ownership of a write-only destination blurs the byte count.
# Both arrays hold data written by the process: an array from np.zeros that
# is only ever read stays mapped to the kernel's shared zero page, so its
# reads hit the cache and the probe moved a third fewer bytes than it
# counted (measured: 0.75-0.85x the time of the same probe on filled arrays,
# which made every floor too low by that much).
@numba.njit(parallel=True, cache=True)
def _copy_parallel(src, dst):
    for i in prange(src.size):
        dst[i] += src[i]


@numba.njit(cache=True)
def _copy_serial(src, dst):
    for i in range(src.size):
        dst[i] += src[i]


def copy_probe(n_bytes, parallel=True):
    """A callable streaming two float64 arrays of ``n_bytes / 2`` bytes each
    (so the probe's footprint is ``n_bytes``), and the bytes it moves
    (read both, write one: 3 x half)."""
    half = max(1, int(n_bytes) // 16)
    src, dst = np.full(half, 1e-9), np.ones(half)  # written pages, never the zero page
    copy = _copy_parallel if parallel else _copy_serial
    return (lambda: copy(src, dst)), 3 * src.nbytes


# -- measurement ----------------------------------------------------------------
def _calibrate(call, sample_s):
    call()  # warm-up (compilation, first touch of the pages)
    t = time.perf_counter()
    call()
    once = max(time.perf_counter() - t, 1e-7)
    return max(1, min(10_000, int(sample_s / once)))


def stats(samples):
    s = sorted(samples)
    q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0]] * 3
    med = q[1]
    return {"median": med, "q1": q[0], "q3": q[2], "min": s[0], "max": s[-1],
            "rel_iqr": (q[2] - q[0]) / med if med > 0 else 0.0, "n": len(s)}


def interleave(calls, rounds=15, sample_s=0.02):
    """Time ``calls`` (name -> zero-argument callable) in interleaved rounds;
    returns name -> {median, q1, q3, min, max, rel_iqr, n, inner, samples} (seconds per call)."""
    names = list(calls)
    inner = {k: _calibrate(calls[k], sample_s) for k in names}
    samples = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for k in order:
            call, m = calls[k], inner[k]
            t = time.perf_counter()
            for _ in range(m):
                call()
            samples[k].append((time.perf_counter() - t) / m)
    return {k: dict(stats(samples[k]), inner=inner[k], samples=samples[k]) for k in names}


def check(row, floor=None, spread_bound=SPREAD_BOUND):
    """The reasons (possibly none) not to trust one measured row."""
    flags = []
    if floor is not None and row["median"] < (1 - FLOOR_SLACK) * floor:
        flags.append(f"below floor ({row['median'] / floor:.2f}x)")
    if row["rel_iqr"] > spread_bound:
        flags.append(f"spread {row['rel_iqr']:.0%} > {spread_bound:.0%}")
    return flags


def measure(calls, floors=None, rounds=15, sample_s=0.02, retries=2, spread_bound=SPREAD_BOUND, floor_of=None):
    """``interleave`` and ``check``; a comparison with any flagged row is
    re-measured (up to ``retries`` times), keeping the attempt with the fewest
    flags. ``floors`` maps names to fixed floors; ``floor_of(result)`` may
    instead compute them from the same rounds (the copy probe). Each row gets
    ``flags`` (empty = trustworthy) and ``attempts``."""
    best = None
    for attempt in range(1 + retries):
        result = interleave(calls, rounds, sample_s)
        fl = dict(floors or {})
        if floor_of is not None:
            fl.update(floor_of(result))
        n_flags = 0
        for name, row in result.items():
            row["floor"] = fl.get(name)
            row["flags"] = check(row, fl.get(name), spread_bound)
            n_flags += len(row["flags"])
        if best is None or n_flags < best[0]:
            best = (n_flags, result)
        if n_flags == 0:
            break
    for row in best[1].values():
        row["attempts"] = attempt + 1
    return best[1]


# -- printing and files -----------------------------------------------------------
def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_row(row):
    """``median [q1–q3]`` and a ``!`` with the reasons when flagged."""
    if row is None:
        return "-"
    text = f"{fmt_time(row['median'])} [{fmt_time(row['q1'])}–{fmt_time(row['q3'])}]"
    if row.get("flags"):
        text += " ! " + "; ".join(row["flags"])
    return text


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def save(path, env, rows, meta=None):
    """Write the environment and rows (``key -> {implementation -> row}``) as JSON."""
    env = dict(env, load_after=os.getloadavg())
    with open(path, "w") as f:
        json.dump({"environment": env, "meta": meta or {}, "rows": rows}, f, indent=1)
    return env


def compare(old_path, new_path, out=sys.stdout):
    """Print, for every row and implementation both files have, the two medians and their ratio."""
    old, new = (json.load(open(p)) for p in (old_path, new_path))
    print(f"old: {describe(old['environment'])}", file=out)
    print(f"new: {describe(new['environment'])}", file=out)
    table = []
    def impls_of(rows, key):
        entry = rows.get(key, {})
        return entry.get("impls", entry)  # a row is {impl: ...} or {"impls": {impl: ...}, ...}

    for key in new["rows"]:
        for impl, row in impls_of(new["rows"], key).items():
            before = impls_of(old["rows"], key).get(impl)
            if not isinstance(row, dict) or "median" not in row or not isinstance(before, dict):
                continue
            flags = "; ".join(before.get("flags", []) + row.get("flags", []))
            table.append((key, impl, fmt_row(before), fmt_row(row), f"{row['median'] / before['median']:.2f}",
                          flags or "ok"))
    print(markdown(("row", "implementation", "old", "new", "new/old", "flags"), table), file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Compare two benchmark JSON files.")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), required=True)
    args = parser.parse_args(argv)
    compare(*args.compare)


if __name__ == "__main__":
    main()
