"""Gradient checking by central finite differences, as the seed recommends.

For each checked coordinate i,

    ĝ_i = (J(θ + h e_i) − J(θ − h e_i)) / (2h),

and the relative error |g_i − ĝ_i| / max(|g_i| + |ĝ_i|, floor) is reported.
The floor, 1e-5 · max(1, ‖g‖∞), keeps coordinates whose true gradient is
zero (a bias just before a batch normalization, a dead ReLU unit) from
turning rounding noise of 1e-11 into a relative error of 1.
Run it in float64: float32 carries too few digits for differences of losses.

By default it checks the model's own gradient; pass ``gradient=`` to check a
hand-derived one (a function of θ, X and y) against the model's loss.
"""

from __future__ import annotations

import numpy as np

from .base import TRAIN_FROZEN


def check_gradient(model, theta, X, y, *, h=1e-6, n_coords=None, seed=0, buffers=None, gradient=None):
    """Largest relative error between the model's gradient and central differences.

    Parameters
    ----------
    model : gdlib.models.Model
    theta : numpy.ndarray
        Float64 parameter vector
    X, y : numpy.ndarray
        Data (all rows form the batch)
    h : float
        Step of the finite difference
    n_coords : int or None
        Check this many randomly chosen coordinates (all if None)
    gradient : callable or None
        None to check the model's gradient, or a function ``gradient(theta, X, y)``
        returning the gradient to check (for example one derived by hand)
    """
    theta = np.array(model._check_theta(theta), dtype=np.float64)
    X, y = model.check_data(X, y, np.float64)
    buffers = model.new_buffers() if buffers is None else np.array(buffers, dtype=np.float64)
    idx = np.arange(X.shape[0], dtype=np.int64)
    grad = np.empty_like(theta)
    model._loss_grad(theta, X, y, idx, grad, model.spec, buffers.copy(), TRAIN_FROZEN)
    if gradient is not None:
        grad = np.asarray(gradient(theta.copy(), X, y), dtype=np.float64)
        if grad.shape != theta.shape:
            raise ValueError(f"gradient(theta, X, y) must return an array of shape {theta.shape}, "
                             f"got {grad.shape}")
    empty = np.empty(0)

    def loss(t):
        return model._loss_grad(t, X, y, idx, empty, model.spec, buffers.copy(), TRAIN_FROZEN)

    coords = np.arange(theta.size)
    if n_coords is not None and n_coords < theta.size:
        coords = np.random.default_rng(seed).choice(theta.size, size=n_coords, replace=False)
    floor = 1e-5 * max(1.0, float(np.max(np.abs(grad))))
    worst = 0.0
    for i in coords:
        plus, minus = theta.copy(), theta.copy()
        plus[i] += h
        minus[i] -= h
        numeric = (loss(plus) - loss(minus)) / (2 * h)
        denom = max(abs(grad[i]) + abs(numeric), floor)
        worst = max(worst, abs(grad[i] - numeric) / denom)
    return worst
