"""Speed of whole runs: a 2-D trajectory and a mini-batch epoch, gdlib against NumPy and PyTorch.

* trajectory: 10^4 Adam steps on Beale's function from (1, 1.5):
  gdlib's compiled ``trajectory`` / a Python loop of NumPy updates
  (``tests/reference.py``) with the analytic gradient / a PyTorch loop with
  autograd and ``torch.optim.Adam``.
* epoch: one epoch of mini-batch SGD with momentum (batch 32) on the digits
  training set (1078 rows), softmax regression and an MLP 64-32-10 (tanh):
  gdlib's ``train`` / a NumPy loop (vectorised softmax-regression gradient;
  softmax regression only) / a PyTorch loop with autograd.

Medians of repeated runs after one warm-up (compilation excluded; it is cached
across processes). Run: ``python bench/bench_training.py``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import gdlib  # noqa: E402
import reference as ref  # noqa: E402
from gdlib import data, models, surfaces  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

N_STEPS = 10_000


def median(fn, repeats=7):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def trajectory_gdlib():
    gdlib.trajectory(gdlib.Adam(eta=0.01), "beale", (1.0, 1.5), N_STEPS)


def beale_gradient_numpy(p):
    x, y = p
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3
    return np.array([2 * (a * (y - 1) + b * (y * y - 1) + c * (y**3 - 1)), 2 * x * (a + 2 * b * y + 3 * c * y * y)])


def trajectory_numpy():
    rule = ref.Adam(np.array([1.0, 1.5]), 0.01, 0.9, 0.999, 1e-8)
    for _ in range(N_STEPS):
        rule.step(beale_gradient_numpy(rule.theta))


def trajectory_torch():
    p = torch.tensor([1.0, 1.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    for _ in range(N_STEPS):
        opt.zero_grad()
        x, y = p[0], p[1]
        loss = (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y**3) ** 2
        loss.backward()
        opt.step()


DIGITS = data.digits()


def epoch_gdlib(model):
    """The compiled epoch alone (what the other columns do), without train()'s evaluations."""
    from gdlib.train import compiled_epoch, epoch_order

    opt = gdlib.Momentum(eta=0.05, gamma=0.9)
    X, y = model.check_data(DIGITS.X_train, DIGITS.y_train)
    theta = model.init_params(0)
    state, buffers, hyper = opt.init(theta), model.new_buffers(), opt.hyper.copy()
    rows = epoch_order(len(y), 1)

    def run():
        compiled_epoch(opt, theta, state, model._loss_grad, X, y, rows, 32, spec=model.spec, buffers=buffers,
                       hyper=hyper)

    return run


def train_call(model):
    """A whole gdlib.train call of one epoch: validation, losses before and after, bookkeeping."""
    return lambda: gdlib.train(model, gdlib.Momentum(eta=0.05, gamma=0.9), DIGITS, epochs=1, batch_size=32)


def epoch_numpy_softmax():
    X, y = DIGITS.X_train, DIGITS.y_train.astype(int)
    W, b = np.zeros((64, 10)), np.zeros(10)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    order = np.random.default_rng(0).permutation(len(y))
    for start in range(0, len(y), 32):
        idx = order[start : start + 32]
        z = X[idx] @ W + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(idx)), y[idx]] -= 1
        p /= len(idx)
        vW = 0.9 * vW + 0.05 * (X[idx].T @ p)
        vb = 0.9 * vb + 0.05 * p.sum(axis=0)
        W -= vW
        b -= vb


def epoch_torch(hidden):
    X = torch.tensor(DIGITS.X_train)
    y = torch.tensor(DIGITS.y_train.astype(np.int64))
    if hidden:
        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10)).double()
    else:
        net = torch.nn.Linear(64, 10).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        order = torch.randperm(len(y))
        for start in range(0, len(y), 32):
            idx = order[start : start + 32]
            opt.zero_grad()
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()

    return run


def main():
    if torch is not None:
        torch.set_num_threads(2)
    rows = [("trajectory, 10^4 Adam steps on Beale", median(trajectory_gdlib), median(trajectory_numpy, 3),
             median(trajectory_torch, 3) if torch else None)]
    rows.append(("epoch, softmax regression, digits", median(epoch_gdlib(models.SoftmaxRegression(64, 10))),
                 median(epoch_numpy_softmax), median(epoch_torch(False)) if torch else None))
    rows.append(("epoch, MLP 64-32-10, digits", median(epoch_gdlib(models.MLP(64, 10, (32,)))), None,
                 median(epoch_torch(True)) if torch else None))
    rows.append(("gdlib.train(epochs=1), softmax regression (incl. 4 full evaluations)",
                 median(train_call(models.SoftmaxRegression(64, 10))), median(epoch_numpy_softmax),
                 median(epoch_torch(False)) if torch else None))
    print("| run | gdlib | NumPy loop | PyTorch autograd loop | NumPy / gdlib | PyTorch / gdlib |")
    print("|---|---|---|---|---|---|")
    for name, ours, np_time, torch_time in rows:
        def f(t):
            return "-" if t is None else f"{t * 1e3:.2f} ms"

        def r(t):
            return "-" if t is None else f"{t / ours:.2g}x"

        print(f"| {name} | {f(ours)} | {f(np_time)} | {f(torch_time)} | {r(np_time)} | {r(torch_time)} |")


if __name__ == "__main__":
    main()
