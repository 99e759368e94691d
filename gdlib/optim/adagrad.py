"""Adagrad (Duchi, Hazan and Singer, 2011).

Update rule, per parameter (G_t is the diagonal of the seed's matrix)::

    G_t = G_{t−1} + g_t ⊙ g_t
    θ_t = θ_{t−1} − η / sqrt(G_t + ε) ⊙ g_t

Options for the frameworks' conventions, all off by default:

* ``eps_inside_sqrt=False``: sqrt(G_t) + ε, as PyTorch does (Keras 3 and
  optax keep ε inside the root, the seed's form);
* ``G0``: the initial accumulator G_0 (PyTorch ``initial_accumulator_value``,
  0 by default; Keras and optax use 0.1);
* ``lr_decay``: PyTorch's decay η_t = η / (1 + (t − 1) · lr_decay).
"""

from __future__ import annotations

from numba import prange

from .. import _checks
from .._numba import COUNTER, jit, twins
from ._moments import ratio_or_zero, rms
from .base import Optimizer
from .declare import Hyper, eps, eps_inside_sqrt, eta, slots

HYPERS = (
    eta(0.01),
    eps(1e-8),
    eps_inside_sqrt(True, "True (seed, You's slides): sqrt(G_t + ε); False (PyTorch): sqrt(G_t) + ε"),
    Hyper("G0", 0.0, _checks.non_negative, "initial value G_0 >= 0 of every accumulator entry", keyword=True),
    Hyper("lr_decay", 0.0, _checks.non_negative, "PyTorch's decay: η_t = η / (1 + (t − 1) lr_decay)", keyword=True),
)
H = slots(HYPERS)


@twins
def adagrad_update(theta, g, G, eta, eps, eps_inside_sqrt):
    """G ← G + g², θ ← θ − η g / rms(G), in place."""
    T = theta.dtype.type
    step, e = T(eta), T(eps)
    for i in prange(theta.size):
        G[i] += g[i] * g[i]
        theta[i] -= step * ratio_or_zero(g[i], rms(G[i], e, eps_inside_sqrt))


_update = adagrad_update.dispatch


@jit
def adagrad_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    eta_t = h[H.eta] / (1.0 + (c[COUNTER.t] - 1.0) * h[H.lr_decay])
    _update(h, theta, g, S[0], eta_t, h[H.eps], h[H.eps_inside_sqrt] != 0.0)


class Adagrad(Optimizer):
    """Adagrad: G_t = G_{t−1} + g_t², θ_t = θ_{t−1} − η g_t / sqrt(G_t + ε).

    Parameters
    ----------
    eta : float
        Learning rate η > 0 (0.01 is the usual default).
    eps : float
        Smoothing term ε >= 0.
    eps_inside_sqrt : bool
        True (seed, You's slides): sqrt(G_t + ε). False (PyTorch): sqrt(G_t) + ε.
    G0 : float
        Initial value of every accumulator entry, G_0 >= 0.
    lr_decay : float
        PyTorch's learning-rate decay: η_t = η / (1 + (t − 1) lr_decay).

    State: ``G`` (the diagonal of G_t, the running sum of squared gradients).
    """

    hypers = HYPERS
    state_names = ("G",)
    _packed_step = staticmethod(adagrad_step)

    def _init_state(self, state):
        state.G[...] = self.G0
