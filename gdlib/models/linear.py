"""Linear models: linear regression (squared error) and logistic regression.

Parameters θ = (w_1 … w_p, b). For a row x with target y:

* linear regression: ŷ = wᵀx + b, loss ½ (ŷ − y)², ∂/∂θ = (ŷ − y) (x, 1);
* logistic regression, y ∈ {0, 1}: z = wᵀx + b, loss log(1 + e^z) − y z
  (the cross-entropy of σ(z)), ∂/∂θ = (σ(z) − y) (x, 1).

The loss of a batch is the mean over its rows, and so is the gradient.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .._numba import jit
from .base import PREFETCH_ROWS, Model, prefetch_row


@jit(reduction=True)
def _linear_score(theta, X, i, p):
    """z = wᵀx_i + b. The sum over j is a reduction in SIMD lanes (its order
    fixed by the compiled code). As one serial chain of additions it was
    latency-bound: the scores of 100,000 shuffled rows of 100 features took
    3.3x as long (40.8 ms against 12.4 ms, measured under load)."""
    x = X[i]
    s = x.dtype.type(0) * theta.dtype.type(0)  # the promoted dtype, whatever θ holds
    for j in range(p):
        s += x[j] * theta[j]
    return theta[p] + s


@jit
def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@jit
def _softplus_and_sigmoid(z):
    """(log(1 + e^z), σ(z)) without overflow, from one exponential e^(−|z|)
    (σ bit for bit as ``_sigmoid`` computes it), where the two functions
    called apart take two."""
    e = np.exp(-abs(z))
    softplus = max(z, 0.0) + np.log1p(e)
    if z >= 0:
        return softplus, 1.0 / (1.0 + e)
    return softplus, e / (1.0 + e)


@jit
def _generalized_linear_loss_grad(theta, X, y, idx, grad, logistic):
    """Both models share z = wᵀx + b and ∂loss/∂θ = dz · (x, 1); only the loss differs."""
    p = X.shape[1]
    want = grad.size > 0
    if want:
        grad[:] = 0
    total = 0.0
    for r in range(min(PREFETCH_ROWS, idx.size)):
        prefetch_row(X, idx[r])
    for r in range(idx.size):
        if r + PREFETCH_ROWS < idx.size:
            prefetch_row(X, idx[r + PREFETCH_ROWS])
        i = idx[r]
        z = float(_linear_score(theta, X, i, p))
        if logistic:
            softplus, sigmoid = _softplus_and_sigmoid(z)
            total += softplus - y[i] * z
            dz = sigmoid - y[i]
        else:
            dz = z - y[i]
            total += 0.5 * dz * dz
        if want:
            for j in range(p):
                grad[j] += dz * X[i, j]
            grad[p] += dz
    if want:
        grad *= grad.dtype.type(1.0 / idx.size)
    return total / idx.size


@jit
def linear_regression_loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
    return _generalized_linear_loss_grad(theta, X, y, idx, grad, False)


@jit
def logistic_regression_loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
    return _generalized_linear_loss_grad(theta, X, y, idx, grad, True)


@jit
def linear_scores(theta, X, spec, buffers):
    out = np.empty(X.shape[0], dtype=X.dtype)
    for i in range(X.shape[0]):
        out[i] = _linear_score(theta, X, i, X.shape[1])
    return out


@jit
def logistic_scores(theta, X, spec, buffers):
    out = np.empty(X.shape[0], dtype=X.dtype)
    for i in range(X.shape[0]):
        out[i] = _sigmoid(float(_linear_score(theta, X, i, X.shape[1])))
    return out


class LinearRegression(Model):
    """ŷ = wᵀx + b with the squared-error loss J(θ) = mean ½ (ŷ − y)²."""

    classifier = False

    def __init__(self, n_features):
        self.n_features = _checks.whole_number(n_features, "n_features")
        self.n_params = self.n_features + 1
        self.spec = np.array([self.n_features], dtype=np.int64)
        self._loss_grad = linear_regression_loss_grad
        self._scores = linear_scores

    def init_params(self, seed=0, dtype=np.float64):
        """Small random weights, zero bias."""
        rng = np.random.default_rng(seed)
        theta = np.zeros(self.n_params, dtype=dtype)
        theta[: self.n_features] = rng.normal(0.0, 0.01, self.n_features)
        return theta

    def __repr__(self):
        return f"LinearRegression(n_features={self.n_features})"


class LogisticRegression(LinearRegression):
    """P(y = 1 | x) = σ(wᵀx + b) with the cross-entropy loss."""

    classifier = True
    n_classes = 2

    def __init__(self, n_features):
        super().__init__(n_features)
        self._loss_grad = logistic_regression_loss_grad
        self._scores = logistic_scores

    def __repr__(self):
        return f"LogisticRegression(n_features={self.n_features})"
