"""Adadelta (Zeiler, 2012).

Update rule::

    E[g²]_t   = γ E[g²]_{t−1} + (1 − γ) g_t²
    Δθ_t      = − RMS[Δθ]_{t−1} / RMS[g]_t · g_t,   RMS[x]_t = sqrt(E[x²]_t + ε)
    E[Δθ²]_t  = γ E[Δθ²]_{t−1} + (1 − γ) Δθ_t²
    θ_t       = θ_{t−1} + η Δθ_t

The seed has no learning rate (η = 1, the default). PyTorch and Keras keep
one that scales the applied step but not the accumulated E[Δθ²]: ``eta``
reproduces that. Keras's default η = 0.001 makes Adadelta crawl.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .. import _checks
from .._numba import jit, twins, use_parallel
from ._moments import ema
from .base import Optimizer


@twins
def adadelta_update(theta, g, Eg2, Edelta2, eta, gamma, eps):
    """One Adadelta step in place; ``Edelta2`` is read (t − 1) before it is updated (t)."""
    T = theta.dtype.type
    step, decay, keep, e = T(eta), T(gamma), T(1.0 - gamma), T(eps)
    for i in prange(theta.size):
        Eg2[i] = ema(Eg2[i], g[i] * g[i], decay, keep)
        delta = -(np.sqrt(Edelta2[i] + e) / np.sqrt(Eg2[i] + e)) * g[i]
        Edelta2[i] = ema(Edelta2[i], delta * delta, decay, keep)
        theta[i] += step * delta


_serial, _parallel = adadelta_update.serial, adadelta_update.parallel


@jit
def adadelta_step(theta, g, S, h, c):
    c[0] += 1.0
    if not use_parallel(theta.size, h):
        _serial(theta, g, S[0], S[1], h[0], h[1], h[2])
    else:
        _parallel(theta, g, S[0], S[1], h[0], h[1], h[2])


class Adadelta(Optimizer):
    """Adadelta: Δθ_t = − RMS[Δθ]_{t−1} / RMS[g]_t · g_t,  θ_t = θ_{t−1} + η Δθ_t.

    Parameters
    ----------
    gamma : float
        Decay γ in [0, 1) of both running averages (around 0.9; Zeiler used 0.95).
    eps : float
        ε > 0 inside both RMS terms. It must be positive: it is the very first
        step size, since RMS[Δθ]_0 = sqrt(ε).
    eta : float
        Scale of the applied step; 1 (the seed, no learning rate) by default.

    State: ``Eg2`` (E[g²]_t) and ``Edelta2`` (E[Δθ²]_t).
    """

    state_names = ("Eg2", "Edelta2")
    _packed_step = staticmethod(adadelta_step)

    def __init__(self, gamma=0.9, eps=1e-6, *, eta=1.0, check_finite=True):
        gamma = _checks.decay_rate(gamma, "gamma")
        eps = _checks.positive(eps, "eps")
        eta = _checks.positive(eta, "eta")
        self._finish_init(
            [("gamma", gamma), ("eps", eps), ("eta", eta)], [eta, gamma, eps], check_finite
        )
