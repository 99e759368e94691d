"""RMSprop (Hinton, Srivastava and Swersky, 2012, lecture 6e).

Update rule::

    E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t²
    θ_t     = θ_{t−1} − η / sqrt(E[g²]_t + ε) · g_t

It is Adadelta's first step with a learning rate, and Adam without the first
moment or bias correction. ``eps_inside_sqrt=False`` gives PyTorch's
sqrt(E[g²]_t) + ε (PyTorch's default γ, called alpha, is 0.99); Keras 3 keeps
ε inside the root, as here (with ε = 1e-7).
"""

from __future__ import annotations

from numba import prange

from .. import _checks
from .._numba import COUNTER, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer
from .declare import Hyper, eps, eps_inside_sqrt, eta, slots

HYPERS = (
    eta(0.001),
    Hyper("gamma", 0.9, _checks.decay_rate, "decay γ in [0, 1) of E[g²]"),
    eps(1e-8),
    eps_inside_sqrt(True, "True (seed): sqrt(E[g²]_t + ε); False (PyTorch): sqrt(E[g²]_t) + ε"),
)
H = slots(HYPERS)


@twins
def rmsprop_update(theta, g, Eg2, eta, gamma, eps, eps_inside_sqrt):
    """E[g²] ← γ E[g²] + (1 − γ) g², θ ← θ − η g / rms(E[g²]), in place."""
    T = theta.dtype.type
    step, decay, keep, e = T(eta), T(gamma), T(1.0 - gamma), T(eps)
    for i in prange(theta.size):
        Eg2[i] = ema(Eg2[i], g[i] * g[i], decay, keep)
        theta[i] -= step * ratio_or_zero(g[i], rms(Eg2[i], e, eps_inside_sqrt))


_update = rmsprop_update.dispatch


@jit
def rmsprop_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    _update(h, theta, g, S[0], h[H.eta], h[H.gamma], h[H.eps], h[H.eps_inside_sqrt] != 0.0)


class RMSprop(Optimizer):
    """RMSprop: E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t², θ_t = θ_{t−1} − η g_t / sqrt(E[g²]_t + ε).

    Parameters
    ----------
    eta : float
        Learning rate η > 0 (0.001 suggested).
    gamma : float
        Decay γ in [0, 1) (Hinton suggests 0.9).
    eps : float
        ε >= 0.
    eps_inside_sqrt : bool
        True (seed, You's slides, Keras 3): sqrt(E[g²]_t + ε). False (PyTorch): sqrt(E[g²]_t) + ε.

    State: ``Eg2`` (E[g²]_t).
    """

    hypers = HYPERS
    state_names = ("Eg2",)
    _packed_step = staticmethod(rmsprop_step)
