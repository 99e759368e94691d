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
from .._numba import COUNTER, jit, twins
from ._moments import ema
from .base import Optimizer
from .declare import Hyper, eta, slots

HYPERS = (
    eta(1.0, "scale of the applied step, 1 in the seed (no learning rate)", keyword=True),
    Hyper("gamma", 0.9, _checks.decay_rate, "decay γ in [0, 1) of both running averages"),
    Hyper("eps", 1e-6, _checks.positive, "ε > 0 inside both RMS terms (the first step size is sqrt(ε))"),
)
H = slots(HYPERS)


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


_update = adadelta_update.dispatch


@jit
def adadelta_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    _update(h, theta, g, S[0], S[1], h[H.eta], h[H.gamma], h[H.eps])


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

    hypers = HYPERS
    state_names = ("Eg2", "Edelta2")
    _packed_step = staticmethod(adadelta_step)
