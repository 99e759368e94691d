"""Hogwild!: lock-free parallel SGD on shared memory (Niu, Recht, Ré and Wright, 2011).

Several threads run SGD on disjoint shards of the training rows and update
one shared parameter vector without any locking. When each example touches
only a few parameters (sparse features), two threads rarely write the same
coordinate at the same time and the result is almost that of serial SGD, with
the speed of several cores, when the cores are free. With dense features
every update touches every coordinate, so concurrent read-modify-write
sequences can overwrite each other and lose updates; how many are lost
depends on the threads' timing (see :func:`lost_writes`).

The model is logistic regression, J = mean log(1 + e^z) − y z with
z = xᵀw + b, on rows in compressed sparse row form (``indptr``, ``indices``,
``values``), so an update costs O(non-zeros of the row). The threads are
Numba's: ``prange`` over shards, one shard per thread, racing by design.

The locked baseline (``lock=True``) runs the same shards on Python threads
that take one global lock around every single update, so no update is ever
lost and the updates are serialized: it shows what Hogwild! saves. Its
per-update cost includes a Python call and the lock, so compare it with
itself at one thread, not with the compiled loops.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import prange

from .. import _checks
from .._numba import jit


def to_csr(X):
    """(indptr, indices, values) of a dense matrix's non-zero entries, row by row."""
    X = np.asarray(X, dtype=np.float64)
    mask = X != 0
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    rows, cols = np.nonzero(mask)
    return indptr, cols.astype(np.int64), X[rows, cols]


@jit
def _sgd_row(theta, indptr, indices, values, y, i, eta):
    """One logistic-regression SGD step on row i, in place (θ = (w, b), b last)."""
    p = theta.size - 1
    z = theta[p]
    for k in range(indptr[i], indptr[i + 1]):
        z += theta[indices[k]] * values[k]
    if z >= 0:
        s = 1.0 / (1.0 + np.exp(-z))
    else:
        e = np.exp(z)
        s = e / (1.0 + e)
    dz = eta * (s - y[i])
    for k in range(indptr[i], indptr[i + 1]):
        theta[indices[k]] -= dz * values[k]
    theta[p] -= dz


@jit(parallel=True)
def _hogwild_epoch(theta, indptr, indices, values, y, order, eta, n_shards):
    n = order.size
    for s in prange(n_shards):  # each shard on its own thread, all writing θ without locks
        for r in range(s * n // n_shards, (s + 1) * n // n_shards):
            _sgd_row(theta, indptr, indices, values, y, order[r], eta)


@jit
def _serial_epoch(theta, indptr, indices, values, y, order, eta):
    for r in range(order.size):
        _sgd_row(theta, indptr, indices, values, y, order[r], eta)


def _locked_epoch(theta, indptr, indices, values, y, order, eta, n_threads):
    lock = threading.Lock()
    n = order.size

    def work(s):
        for r in range(s * n // n_threads, (s + 1) * n // n_threads):
            with lock:  # one update at a time: nothing is lost, nothing runs in parallel
                _sgd_row(theta, indptr, indices, values, y, order[r], eta)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def zipf_csr(n=200_000, p=10_000, *, active=8, exponent=1.1, seed=0):
    """A large sparse classification problem built directly in CSR form (no dense matrix).

    Each of the ``n`` rows has ``active`` non-zero features (value 1), drawn
    with Zipf frequencies ∝ 1/k^exponent, so a few features are common and
    most are rare, as with words in text; labels come from a random linear
    rule. Returns ((indptr, indices, values, p), y) for :func:`hogwild`.
    """
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, p + 1) ** exponent
    frequency /= frequency.sum()
    indptr = np.arange(0, (n + 1) * active, active, dtype=np.int64)
    indices = rng.choice(p, size=n * active, p=frequency).astype(np.int64)
    values = np.ones(n * active)
    y = (np.add.reduceat(rng.standard_normal(p)[indices], indptr[:-1]) > 0).astype(float)
    return (indptr, indices, values, p), y


def csr_logistic_loss(theta, csr, y):
    """Mean logistic loss on a CSR problem (for monitoring, without a dense matrix)."""
    indptr, indices, values, _ = csr
    z = np.add.reduceat(theta[indices] * values, indptr[:-1]) + theta[-1]
    return float(np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z))


def logistic_loss(theta, X, y):
    """Mean logistic loss (for monitoring)."""
    z = np.asarray(X) @ theta[:-1] + theta[-1]
    return float(np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z))


def _csr(X):
    """(indptr, indices, values, n_features) from a dense matrix or such a tuple."""
    if isinstance(X, tuple):
        return X
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be (n, p), got shape {X.shape}")
    return (*to_csr(X), X.shape[1])


def _check_threads(threads):
    if not isinstance(threads, (int, np.integer)) or not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}, got {threads!r}")


@jit(parallel=True)
def _count_writes(counts, indptr, indices, n_shards):
    n = indptr.size - 1
    for s in prange(n_shards):  # the same racing read-modify-write as Hogwild!'s update, and nothing else
        for r in range(s * n // n_shards, (s + 1) * n // n_shards):
            for k in range(indptr[r], indptr[r + 1]):
                counts[indices[k]] += 1.0


def lost_writes(X, threads=2):
    """The fraction of lock-free writes that races lose on data ``X`` (dense or CSR tuple).

    A stress test of Hogwild!'s premise: ``threads`` threads add 1 to every
    coordinate their rows touch, with no lock and nothing else to do, so the
    count falls short by the number of increments that a concurrent
    read-modify-write overwrote. With one thread nothing is lost. With more,
    a write is lost only when two threads update the same coordinate within
    the same few nanoseconds, so the count depends on the data and on the
    machine: rows with a few very popular features (a Zipf law) send the
    threads' writes to the same hot coordinates at unpredictable moments;
    dense rows touch every coordinate, but two threads sweeping them in the
    same order at the same pace can stay out of step and lose few writes; and
    threads that do not get a core each at the same moment (a busy or small
    machine) hardly race at all. Measure; do not expect a fixed number.
    """
    indptr, indices, _, p = _csr(X)
    _check_threads(threads)
    counts = np.zeros(p)
    previous = numba.get_num_threads()
    numba.set_num_threads(int(threads))
    try:
        _count_writes(counts, np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64), int(threads))
    finally:
        numba.set_num_threads(previous)
    return 1.0 - counts.sum() / len(indices)


def hogwild(X, y, *, epochs=5, eta=0.1, threads=2, seed=0, theta0=None, lock=False):
    """Train logistic regression with Hogwild! on ``threads`` threads (1: serial SGD).

    ``lock=True`` is the locked baseline: the same shards on Python threads,
    one global lock held around every update.

    ``X`` is a dense (n, p) array or a CSR tuple (indptr, indices, values, p)
    from :func:`to_csr` plus the number of features. Returns θ = (w, b). Each
    epoch shuffles the rows with
    ``seed`` and cuts them into ``threads`` shards. Results with more than one
    thread depend on the threads' timing and are not reproducible bit for bit.
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    indptr, indices, values, p = _csr(X)
    n = len(indptr) - 1
    if y.shape != (n,):
        raise ValueError(f"y must have one entry per row of X: ({n},), got {y.shape}")
    _check_threads(threads)
    eta = _checks.positive(eta, "eta")
    lock = _checks.flag(lock, "lock")
    theta = np.zeros(p + 1) if theta0 is None else np.array(theta0, dtype=np.float64)
    rng = np.random.default_rng(seed)
    previous = numba.get_num_threads()
    numba.set_num_threads(int(threads))
    try:
        for _ in range(epochs):
            order = rng.permutation(len(y)).astype(np.int64)
            if lock:
                _locked_epoch(theta, indptr, indices, values, y, order, eta, int(threads))
            elif threads == 1:
                _serial_epoch(theta, indptr, indices, values, y, order, eta)
            else:
                _hogwild_epoch(theta, indptr, indices, values, y, order, eta, int(threads))
    finally:
        numba.set_num_threads(previous)
    return theta
