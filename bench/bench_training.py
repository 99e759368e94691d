"""Speed of whole runs: a 2-D trajectory and mini-batch epochs, gdlib against the compiled limit, NumPy and PyTorch.

Timed with ``bench/harness.py`` (implementations of one row interleaved round
by round, median [IQR], re-measured then flagged ``!`` when noisier than the
bound; threads pinned; JSON written beside the table):

* trajectory: 10^4 Adam steps (η = 0.01) on Beale's function from (1, 1.5):
  ``gdlib.trajectory`` (compiled run, every point recorded) /
  ``run_compiled(record=False)`` / a **hand-fused** Numba loop (gradient and
  update written out in one function: the compiled limit; its trajectory is
  checked against gdlib's) / a Python loop of NumPy updates
  (``gdlib.reference``) / a PyTorch autograd loop.
* epochs of mini-batch SGD with momentum (η = 0.05, γ = 0.9): logistic
  regression on 100,000 x 100 float64 synthetic rows, batch 64; softmax
  regression and the MLP 64-32-10 (tanh) on the digits training set, batch 32:
  gdlib's compiled epoch / for logistic regression a **hand-fused** Numba
  epoch (gradient and momentum update written out in one loop, the rows
  prefetched like gdlib's, its dot products in SIMD lanes: the compiled
  limit) / the rows alone, read in the epoch's shuffled order and in memory
  order (the memory floor: no epoch in that order can take less) / a NumPy loop (vectorised gradient; not for the MLP) / a PyTorch
  autograd loop.
* each gdlib row twice: the default generic loop (compiled once for all
  optimizers and gradients) and ``specialise=True`` (the loop compiled for
  this optimizer and gradient, :mod:`gdlib.optim.specialise`).
* compile time: a fresh process running one trajectory and one epoch with an
  empty Numba cache (cold) and again with that cache filled (warm), for the
  generic loops and for the specialised ones (each with its own cache).

Run: ``make bench`` or ``python bench/bench_training.py [--json out.json] [--no-compile] [--clock cpu]``.
``--clock cpu`` times the CPU time of the process (all its threads) instead of
the wall clock: on a loaded machine it leaves out the time the process waits
for a core, which the wall clock adds at random.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (sets OMP_WAIT_POLICY before numba/torch load)

import numba  # noqa: E402
import numpy as np  # noqa: E402

import gdlib  # noqa: E402
from gdlib import data, models  # noqa: E402
from gdlib import reference as ref  # noqa: E402
from gdlib.surfaces import beale_gradient  # noqa: E402
from gdlib.models.base import PREFETCH_ROWS, prefetch_row  # noqa: E402
from gdlib.models.linear import _sigmoid  # noqa: E402
from gdlib.epoch import compiled_epoch  # noqa: E402
from gdlib.train import epoch_order  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

N_STEPS = 10_000
START = (1.0, 1.5)


# -- trajectory ----------------------------------------------------------------
def trajectory_gdlib(specialise=False):
    return gdlib.trajectory(gdlib.Adam(eta=0.01), "beale", START, N_STEPS, specialise=specialise)


def run_compiled_norecord(specialise=False):
    return gdlib.run_compiled(gdlib.Adam(eta=0.01), beale_gradient, np.array(START), N_STEPS, record=False,
                              specialise=specialise)


@numba.njit(cache=True, error_model="numpy")
def _hand_fused(theta, n_steps, eta, beta1, beta2, eps, out):
    """Adam on Beale, gradient and update in one loop (gdlib's arithmetic, written out)."""
    m0 = m1 = v0 = v1 = 0.0
    x, y = theta[0], theta[1]
    out[0, 0], out[0, 1] = x, y
    for t in range(1, n_steps + 1):
        a = 1.5 - x + x * y
        b = 2.25 - x + x * y * y
        c = 2.625 - x + x * y * y * y
        g0 = 2.0 * (a * (y - 1.0) + b * (y * y - 1.0) + c * (y * y * y - 1.0))
        g1 = 2.0 * x * (a + 2.0 * b * y + 3.0 * c * y * y)
        step = eta / (1.0 - beta1**t)
        scale = 1.0 / (1.0 - beta2**t)
        m0 = beta1 * m0 + (1.0 - beta1) * g0
        m1 = beta1 * m1 + (1.0 - beta1) * g1
        v0 = beta2 * v0 + (1.0 - beta2) * (g0 * g0)
        v1 = beta2 * v1 + (1.0 - beta2) * (g1 * g1)
        x -= step * (m0 / (np.sqrt(scale * v0) + eps))
        y -= step * (m1 / (np.sqrt(scale * v1) + eps))
        out[t, 0], out[t, 1] = x, y


def hand_fused():
    out = np.empty((N_STEPS + 1, 2))
    _hand_fused(np.array(START), N_STEPS, 0.01, 0.9, 0.999, 1e-8, out)
    return out


def beale_gradient_numpy(p):
    x, y = p
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3
    return np.array([2 * (a * (y - 1) + b * (y * y - 1) + c * (y**3 - 1)), 2 * x * (a + 2 * b * y + 3 * c * y * y)])


def trajectory_numpy():
    rule = ref.Adam(np.array(START), 0.01, 0.9, 0.999, 1e-8)
    for _ in range(N_STEPS):
        rule.step(beale_gradient_numpy(rule.theta))


def trajectory_torch():
    p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    for _ in range(N_STEPS):
        opt.zero_grad()
        x, y = p[0], p[1]
        loss = (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y**3) ** 2
        loss.backward()
        opt.step()


# -- epochs --------------------------------------------------------------------
def logistic_data(n=100_000, d=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


def epoch_gdlib(model, X, y, batch, specialise=False):
    """The compiled epoch alone (what the other columns do), without train()'s evaluations."""
    opt = gdlib.Momentum(eta=0.05, gamma=0.9)
    X, y = model.check_data(X, y)
    theta = model.init_params(0)
    state, buffers, hyper = opt.init(theta), model.new_buffers(), opt.hyper.copy()
    rows = epoch_order(len(y), 1)
    return lambda: compiled_epoch(opt, theta, state, model._loss_grad, X, y, rows, batch, spec=model.spec,
                                  buffers=buffers, hyper=hyper, specialise=specialise)


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _dot(a, b):
    """Σ a_j b_j in SIMD lanes (a reduction, as gdlib's linear score, written out here so that
    the compiled limit does not depend on gdlib's kernels)."""
    s = 0.0
    for j in range(a.size):
        s += a[j] * b[j]
    return s


@numba.njit(cache=True, error_model="numpy")
def _hand_fused_logistic_epoch(theta, v, X, y, order, batch, eta, gamma, g):
    """Logistic regression + momentum, one epoch, everything in one loop."""
    n, p = order.size, X.shape[1]
    w = theta[:p]
    for r in range(min(PREFETCH_ROWS, n)):
        prefetch_row(X, order[r])
    for lo in range(0, n, batch):
        hi = min(lo + batch, n)
        g[:] = 0.0
        for r in range(lo, hi):
            if r + PREFETCH_ROWS < n:
                prefetch_row(X, order[r + PREFETCH_ROWS])
            i = order[r]
            x = X[i]
            dz = _sigmoid(theta[p] + _dot(x, w)) - y[i]
            for jj in range(p):
                g[jj] += dz * x[jj]
            g[p] += dz
        scale = 1.0 / (hi - lo)
        for jj in range(p + 1):
            v[jj] = gamma * v[jj] + eta * (g[jj] * scale)
            theta[jj] -= v[jj]


@numba.njit(cache=True, fastmath={"reassoc"})
def _read_rows(X, order):
    """Only read the rows of X in ``order`` (prefetched as gdlib does): the epoch's memory floor."""
    s = 0.0
    n = order.size
    for r in range(n):
        if r + PREFETCH_ROWS < n:
            prefetch_row(X, order[r + PREFETCH_ROWS])
        x = X[order[r]]
        for j in range(x.size):
            s += x[j]
    return s


def rows_alone(X, shuffled):
    """The floor of an epoch: its rows read in its order (shuffled) or in memory order, no arithmetic."""
    order = epoch_order(len(X), 1) if shuffled else np.arange(len(X))
    return lambda: _read_rows(X, order)


def epoch_hand_fused_logistic(X, y, batch):
    theta, v, g = np.zeros(X.shape[1] + 1), np.zeros(X.shape[1] + 1), np.empty(X.shape[1] + 1)
    order = epoch_order(len(y), 1)
    return lambda: _hand_fused_logistic_epoch(theta, v, X, y, order, batch, 0.05, 0.9, g)


def epoch_numpy_logistic(X, y, batch):
    w, b, vw, vb = np.zeros(X.shape[1]), 0.0, np.zeros(X.shape[1]), 0.0
    order = np.random.default_rng(0).permutation(len(y))

    def run():
        nonlocal w, b, vw, vb
        for start in range(0, len(y), batch):
            idx = order[start : start + batch]
            Xb = X[idx]
            r = (1.0 / (1.0 + np.exp(-(Xb @ w + b))) - y[idx]) / len(idx)
            vw = 0.9 * vw + 0.05 * (Xb.T @ r)
            vb = 0.9 * vb + 0.05 * r.sum()
            w -= vw
            b -= vb

    return run


def epoch_numpy_softmax(X, y, batch):
    y = y.astype(int)
    W, b = np.zeros((X.shape[1], 10)), np.zeros(10)
    state = {"vW": np.zeros_like(W), "vb": np.zeros_like(b)}
    order = np.random.default_rng(0).permutation(len(y))

    def run():
        for start in range(0, len(y), batch):
            idx = order[start : start + batch]
            z = X[idx] @ W + b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            p /= len(idx)
            state["vW"] = 0.9 * state["vW"] + 0.05 * (X[idx].T @ p)
            state["vb"] = 0.9 * state["vb"] + 0.05 * p.sum(axis=0)
            W[...] -= state["vW"]
            b[...] -= state["vb"]

    return run


def epoch_torch(net, loss_fn, X, y, batch):
    X, y = torch.tensor(X), torch.tensor(y)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

    def run():
        order = torch.randperm(len(y))
        for start in range(0, len(y), batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()

    return run


# -- compile time --------------------------------------------------------------
COMPILE_SCRIPT = """
import time; t0 = time.perf_counter()
import numpy as np, gdlib
from gdlib import data, models
from gdlib.epoch import compiled_epoch
from gdlib.train import epoch_order
t1 = time.perf_counter()
gdlib.trajectory(gdlib.Adam(eta=0.01), "beale", (1.0, 1.5), 10, specialise=SPECIALISE)
t2 = time.perf_counter()
m = models.LogisticRegression(100); X = np.random.default_rng(0).standard_normal((256, 100)); y = (X[:, 0] > 0) * 1.0
X, y = m.check_data(X, y); opt = gdlib.Momentum(eta=0.05, gamma=0.9); th = m.init_params(0); st = opt.init(th)
compiled_epoch(opt, th, st, m._loss_grad, X, y, epoch_order(len(y), 1), 64, spec=m.spec, buffers=m.new_buffers(),
               specialise=SPECIALISE)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def compile_times():
    """(import, first trajectory, first epoch) seconds in a fresh process: cold (empty cache), then warm,
    for the generic loops and the specialised ones (each in a cache of its own)."""
    out = {}
    for path, specialise in (("generic", False), ("specialised", True)):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            for label in ("cold", "warm"):
                r = subprocess.run([sys.executable, "-c", f"SPECIALISE = {specialise}\n" + COMPILE_SCRIPT], env=env,
                                   capture_output=True, text=True, check=True, cwd=os.path.join(HERE, ".."))
                out[f"{path}, {label}"] = [float(x) for x in r.stdout.split()[-3:]]
    return out


def ratio(a, b):
    return f"{b['median'] / a['median']:.3g}x" if a and b else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--retries", type=int, default=1, help="re-measurements of a flagged row")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile-time processes")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "training.json"))
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time the wall clock (default) or the process's CPU time (a loaded machine)")
    args = parser.parse_args(argv)
    threads = harness.pin_threads(args.threads)
    if args.clock == "cpu":
        clock = types.ModuleType("time")  # the time module, but perf_counter reads the CPU time
        clock.__dict__.update(vars(time), perf_counter=time.process_time)
        harness.time = clock
    env = harness.environment(threads)
    env["clock"] = args.clock
    print(harness.describe(env) + f"; clock: {args.clock}", flush=True)
    print(f"{args.rounds} interleaved rounds; median [IQR]; ! = flagged (relative IQR > {harness.SPREAD_BOUND:.0%})")

    gap = float(np.max(np.abs(trajectory_gdlib().trajectory - hand_fused())))
    print(f"hand-fused trajectory vs gdlib.trajectory: max |difference| = {gap:.1e}", flush=True)

    rows = {}
    specs = [("trajectory, 10^4 Adam steps on Beale", "gdlib.trajectory", {
        "gdlib.trajectory": trajectory_gdlib, "run_compiled(record=False)": run_compiled_norecord,
        "specialised trajectory": lambda: trajectory_gdlib(True),
        "specialised run(record=False)": lambda: run_compiled_norecord(True),
        "hand-fused Numba": hand_fused, "NumPy loop": trajectory_numpy,
        **({"torch loop": trajectory_torch} if torch else {})})]
    Xl, yl = logistic_data()
    specs.append(("epoch, logistic regression 100,000 x 100 float64, batch 64", "gdlib", {
        "gdlib": epoch_gdlib(models.LogisticRegression(100), Xl, yl, 64),
        "gdlib specialised": epoch_gdlib(models.LogisticRegression(100), Xl, yl, 64, specialise=True),
        "hand-fused Numba": epoch_hand_fused_logistic(Xl, yl, 64),
        "rows alone, shuffled": rows_alone(Xl, True), "rows alone, in order": rows_alone(Xl, False),
        "NumPy loop": epoch_numpy_logistic(Xl, yl, 64),
        **({"torch loop": epoch_torch(torch.nn.Sequential(torch.nn.Linear(100, 1).double(), torch.nn.Flatten(0)),
                                      torch.nn.BCEWithLogitsLoss(), Xl, yl, 64)} if torch else {})}))
    digits = data.digits()
    Xd, yd = digits.X_train, digits.y_train
    specs.append(("epoch, softmax regression, digits, batch 32", "gdlib", {
        "gdlib": epoch_gdlib(models.SoftmaxRegression(64, 10), Xd, yd, 32),
        "gdlib specialised": epoch_gdlib(models.SoftmaxRegression(64, 10), Xd, yd, 32, specialise=True),
        "NumPy loop": epoch_numpy_softmax(Xd, yd, 32),
        **({"torch loop": epoch_torch(torch.nn.Linear(64, 10).double(), torch.nn.CrossEntropyLoss(), Xd,
                                      yd.astype(np.int64), 32)} if torch else {})}))
    specs.append(("epoch, MLP 64-32-10, digits, batch 32", "gdlib", {
        "gdlib": epoch_gdlib(models.MLP(64, 10, (32,)), Xd, yd, 32),
        "gdlib specialised": epoch_gdlib(models.MLP(64, 10, (32,)), Xd, yd, 32, specialise=True),
        **({"torch loop": epoch_torch(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(),
                                                          torch.nn.Linear(32, 10)).double(),
                                      torch.nn.CrossEntropyLoss(), Xd, yd.astype(np.int64), 32)} if torch else {})}))
    cols = ("gdlib.trajectory", "specialised trajectory", "run_compiled(record=False)",
            "specialised run(record=False)", "gdlib", "gdlib specialised", "hand-fused Numba",
            "rows alone, shuffled", "rows alone, in order", "NumPy loop", "torch loop")
    table = []
    for name, ours_key, calls in specs:
        result = harness.measure(calls, rounds=args.rounds, sample_s=0.01, retries=args.retries)
        for row in result.values():
            row.pop("samples")
        rows[name] = result
        mine = result[ours_key]
        special = result.get("specialised trajectory", result.get("gdlib specialised"))
        table.append((name, *(harness.fmt_row(result.get(c)) for c in cols), ratio(special, mine),
                      ratio(result.get("hand-fused Numba"), mine) if "hand-fused Numba" in result else "-",
                      ratio(mine, result.get("NumPy loop")), ratio(mine, result.get("torch loop"))))
        if "rows alone, shuffled" in result:  # the most any epoch in this order can gain on NumPy's
            print(f"  {name}: reading the rows alone takes {ratio(result['NumPy loop'], result['rows alone, shuffled'])}"
                  f" of NumPy's epoch in the shuffled order, {ratio(result['NumPy loop'], result['rows alone, in order'])}"
                  " in memory order: NumPy / that is the bound on any speed-up", flush=True)
        print(f"  measured: {name}", file=sys.stderr, flush=True)
    print(harness.markdown(("run", *cols, "generic / specialised", "gdlib / hand-fused", "NumPy / gdlib", "torch / gdlib"), table))
    meta = {"max_trajectory_difference": gap}
    if not args.no_compile:
        ct = compile_times()
        meta["compile_seconds"] = ct
        print("\ncompile time in a fresh process (import | first trajectory | first epoch of logistic regression):")
        for label, (imp, traj, epoch) in ct.items():
            print(f"  {label} cache: {imp:.2f} s | {traj:.2f} s | {epoch:.2f} s")
        print(f"  load average: {harness.fmt_load(os.getloadavg())}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    env = harness.save(args.json, env, rows, meta=meta)
    print(f"load average after: {harness.fmt_load(env['load_after'])}; JSON: {args.json}")


if __name__ == "__main__":
    main()
