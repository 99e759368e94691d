"""Softmax (multinomial logistic) regression.

Parameters θ = (W, b) with W of shape (p, K) stored row by row, then b (K).
For a row x with class y: scores z = Wᵀx + b, loss log Σ_k e^{z_k} − z_y, and
∂loss/∂z = softmax(z) − e_y, so ∂/∂W = x (softmax(z) − e_y)ᵀ.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .._numba import jit
from .base import Model


@jit
def _row_scores(theta, X, i, p, K, z):
    for k in range(K):
        z[k] = theta[p * K + k]
    for j in range(p):
        x = X[i, j]
        if x != 0:
            for k in range(K):
                z[k] += x * theta[j * K + k]


@jit
def _log_softmax_into(z, K):
    """Turn scores into probabilities in place; return log Σ e^z (stable)."""
    top = z[0]
    for k in range(1, K):
        top = max(top, z[k])
    total = 0.0
    for k in range(K):
        z[k] = np.exp(z[k] - top)
        total += z[k]
    for k in range(K):
        z[k] /= total
    return top + np.log(total)


@jit
def softmax_regression_loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
    p, K = spec[0], spec[1]
    want = grad.size > 0
    if want:
        grad[:] = 0
    z = np.empty(K, dtype=np.float64)
    total = 0.0
    for r in range(idx.size):
        i = idx[r]
        _row_scores(theta, X, i, p, K, z)
        label = int(y[i])
        z_label = z[label]
        total += _log_softmax_into(z, K) - z_label
        if want:
            z[label] -= 1.0  # z now holds softmax − e_y
            for j in range(p):
                x = X[i, j]
                if x != 0:
                    for k in range(K):
                        grad[j * K + k] += x * z[k]
            for k in range(K):
                grad[p * K + k] += z[k]
    if want:
        grad *= grad.dtype.type(1.0 / idx.size)
    return total / idx.size


@jit
def softmax_scores(theta, X, spec, buffers):
    p, K = spec[0], spec[1]
    out = np.empty((X.shape[0], K), dtype=X.dtype)
    z = np.empty(K, dtype=np.float64)
    for i in range(X.shape[0]):
        _row_scores(theta, X, i, p, K, z)
        _log_softmax_into(z, K)
        for k in range(K):
            out[i, k] = z[k]
    return out


class SoftmaxRegression(Model):
    """Class probabilities softmax(Wᵀx + b) with the cross-entropy loss."""

    def __init__(self, n_features, n_classes):
        self.n_features = _checks.whole_number(n_features, "n_features")
        self.n_classes = _checks.whole_number(n_classes, "n_classes", low=2)
        self.n_params = (self.n_features + 1) * self.n_classes
        self.spec = np.array([self.n_features, self.n_classes], dtype=np.int64)
        self._loss_grad = softmax_regression_loss_grad
        self._scores = softmax_scores

    def init_params(self, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        theta = np.zeros(self.n_params, dtype=dtype)
        theta[: self.n_features * self.n_classes] = rng.normal(0.0, 0.01, self.n_features * self.n_classes)
        return theta

    def layers(self, adapt_biases=False):
        """The segments of θ for LARS and LAMB: W, then b (without decay or trust
        ratio unless ``adapt_biases``)."""
        from ..optim.layers import Layers

        w = self.n_features * self.n_classes
        return Layers([0, w, self.n_params], decay=[True, adapt_biases], trust=[True, adapt_biases],
                      names=["W", "b"])

    def __repr__(self):
        return f"SoftmaxRegression(n_features={self.n_features}, n_classes={self.n_classes})"
