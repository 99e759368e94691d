"""Assignment ``gd_variants``: an epoch's mini-batches, a batch gradient and one epoch of mini-batch SGD.

The model is gdlib's linear regression, J = mean ½ (xᵀw + b − y)², and the optimizer gdlib's SGD.
"""

from __future__ import annotations

import numpy as np

import gdlib
from gdlib.models import LinearRegression

from ..errors import WrongShape
from ..runner import Case, Mistake, Question, seed
from ..wire import Rng


def linear_data(seed_, n=23, p=3):
    """(X, y, θ) of a small linear-regression problem."""
    rng = np.random.default_rng(seed_)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    return X, y, rng.standard_normal(p + 1)


# ------------------------------------------------------------- epoch_batches
def epoch_batches_ref(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _read_batches(batches):
    """The batches as int64 arrays: mixed integer kinds (int64 and uint64) would concatenate to floats.
    An unsigned index beyond int64 wraps to a negative one, which is out of range all the same."""
    wrong = "epoch_batches must return a list of 1-D integer index arrays"
    try:
        batches = [np.asarray(b) for b in batches]
    except (TypeError, ValueError, OverflowError):
        raise WrongShape(wrong) from None
    if not all(np.issubdtype(b.dtype, np.integer) and b.ndim == 1 for b in batches):
        raise WrongShape(wrong)
    return [b.astype(np.int64) for b in batches]


def _fault(batches, expected):
    """(what is wrong, the case's message) for an epoch's batches; (None, None) when they are right."""
    n, bs = sum(len(b) for b in expected), len(expected[0])
    seen = np.concatenate(batches) if batches else np.array([], dtype=int)
    counts = np.bincount(seen[(seen >= 0) & (seen < n)], minlength=n) if seen.size else np.zeros(n, int)
    sizes, want = [len(b) for b in batches], [len(b) for b in expected]
    if np.any(counts == 0):
        last = sizes == want[:-1] or (n % bs and sum(sizes) == n - n % bs)
        return ("last batch" if last else "skipped"), f"{int(np.sum(counts == 0))} samples are never visited"
    if np.any(counts > 1) or seen.size != n:
        return "repeated", "some samples appear more than once"
    if sizes != want:
        return "sizes", f"batch sizes {sizes}, expected {want}"
    if not all(np.array_equal(a, b) for a, b in zip(batches, expected)):
        return ("unshuffled" if np.array_equal(seen, np.arange(n)) else "order"), \
            "the order differs from rng.permutation(n)"
    return None, None


def _batch_mistake(name, fault, message):
    return Mistake(name, message, test=lambda case, batches, expected: _fault(batches, expected)[0] == fault)


EPOCH_BATCHES = Question(
    function="epoch_batches", points=4, reference=epoch_batches_ref,
    cases=[Case(f"n = {n}, batch size {bs}", (n, bs, Rng(seed("epoch_batches", n, bs))))
           for n, bs in ((50, 7), (64, 10), (5, 8), (9, 2), (31, 8))],  # a last, smaller batch in each
    read=_read_batches, differ=lambda batches, expected: _fault(batches, expected)[1],
    mistakes=[
        _batch_mistake("last_batch_missing", "last batch", "The last, smaller batch is missing: when the batch size "
                       "does not divide n, keep the remainder as a final batch so no sample is skipped."),
        _batch_mistake("skips_samples", "skipped",
                       "Some samples are skipped in an epoch: every sample must appear exactly once."),
        _batch_mistake("with_replacement", "repeated", "Samples are repeated within an epoch (sampling with "
                       "replacement?): shuffle a permutation instead, e.g. rng.permutation(n)."),
        _batch_mistake("batch_sizes", "sizes",
                       "Cut the shuffled order into consecutive batches of batch_size; only the last may be smaller."),
        _batch_mistake("not_shuffled", "unshuffled",
                       "The samples are not shuffled: draw the epoch's order with rng.permutation(n)."),
        _batch_mistake("other_shuffle", "order", "Shuffle with exactly one call rng.permutation(n) per epoch, so the "
                       "order can be reproduced from the generator."),
    ])


# ------------------------------------------------------------ batch_gradient
def batch_gradient_ref(theta, X, y):
    """Mean gradient of J = mean ½ (xᵀw + b − y)² (gdlib's linear regression)."""
    return LinearRegression(X.shape[1]).gradient(np.asarray(theta, float), X, y)


BATCH_GRADIENT = Question(
    function="batch_gradient", points=3, reference=batch_gradient_ref, what="gradient",
    cases=[Case(f"batch of {n}", (theta, X, y)) for n in (1, 5, 17, 8)
           for X, y, theta in [linear_data(seed("batch_gradient", n), n=n)]],
    mistakes=[
        Mistake("summed", "Your gradient is summed over the batch, not averaged: divide by the batch size "
                "(otherwise the effective learning rate grows with the batch).",
                lambda theta, X, y: batch_gradient_ref(theta, X, y) * len(y)),
        Mistake("sign", "Sign error: the gradient of ½(xᵀw + b − y)² is (xᵀw + b − y)·(x, 1).",
                lambda theta, X, y: -batch_gradient_ref(theta, X, y)),
    ])


# ----------------------------------------------------------------- sgd_epoch
def sgd_epoch_ref(theta, X, y, eta, batch_size, rng):
    model = LinearRegression(X.shape[1])
    opt = gdlib.SGD(eta=eta, check_finite=False)
    theta = np.array(theta, dtype=np.float64)
    state = opt.init(theta)
    for rows in epoch_batches_ref(len(y), batch_size, rng):
        opt.step(theta, model.gradient(theta, X[rows], y[rows]), state)
    return theta


def _sgd_case(n, bs):
    X, y, theta = linear_data(seed("sgd_epoch", n, bs), n=n)
    return Case(f"n = {n}, batch size {bs}", (theta, X, y, 0.05, bs, Rng(seed("sgd_epoch_rng", n, bs))))


SGD_EPOCH = Question(
    function="sgd_epoch", points=3, reference=sgd_epoch_ref, what="θ after the epoch:",
    cases=[_sgd_case(n, bs) for n, bs in ((23, 5), (23, 23), (12, 1), (30, 4))],
    mistakes=[
        Mistake("summed_gradient", "Each step uses the summed batch gradient: average it over the batch.",
                lambda theta, X, y, eta, bs, rng: sgd_epoch_ref(theta, X, y, eta * bs, bs, rng)),
    ])

QUESTIONS = [EPOCH_BATCHES, BATCH_GRADIENT, SGD_EPOCH]
