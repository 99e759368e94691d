"""Adagrad (Duchi, Hazan and Singer, 2011).

Update rule, per parameter (G_t is the diagonal of the seed's matrix)::

    G_t = G_{t−1} + g_t ⊙ g_t
    θ_t = θ_{t−1} − η / sqrt(G_t + ε) ⊙ g_t

Options for the frameworks' conventions, all off by default:

* ``eps_inside_sqrt=False``: sqrt(G_t) + ε, as PyTorch, Keras and TensorFlow do;
* ``G0``: the initial accumulator G_0 (PyTorch ``initial_accumulator_value``,
  0 by default; Keras and TensorFlow 1 use 0.1);
* ``lr_decay``: PyTorch's decay η_t = η / (1 + (t − 1) · lr_decay).
"""

from __future__ import annotations

from numba import prange

from .. import _checks
from .._numba import jit, twins, use_parallel
from ._moments import ratio_or_zero, rms
from .base import Optimizer


@twins
def adagrad_update(theta, g, G, eta, eps, eps_inside_sqrt):
    """G ← G + g², θ ← θ − η g / rms(G), in place."""
    T = theta.dtype.type
    step, e = T(eta), T(eps)
    for i in prange(theta.size):
        G[i] += g[i] * g[i]
        theta[i] -= step * ratio_or_zero(g[i], rms(G[i], e, eps_inside_sqrt))


_serial, _parallel = adagrad_update.serial, adagrad_update.parallel


@jit
def adagrad_step(theta, g, S, h, c):
    c[0] += 1.0
    eta_t = h[0] / (1.0 + (c[0] - 1.0) * h[3])
    if not use_parallel(theta.size, h):
        _serial(theta, g, S[0], eta_t, h[1], h[2] != 0.0)
    else:
        _parallel(theta, g, S[0], eta_t, h[1], h[2] != 0.0)


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

    state_names = ("G",)
    _packed_step = staticmethod(adagrad_step)

    def __init__(self, eta=0.01, eps=1e-8, *, eps_inside_sqrt=True, G0=0.0, lr_decay=0.0, check_finite=True):
        eta = _checks.positive(eta, "eta")
        eps = _checks.non_negative(eps, "eps")
        inside = _checks.flag(eps_inside_sqrt, "eps_inside_sqrt")
        G0 = _checks.non_negative(G0, "G0")
        lr_decay = _checks.non_negative(lr_decay, "lr_decay")
        self._finish_init(
            [("eta", eta), ("eps", eps), ("eps_inside_sqrt", inside), ("G0", G0), ("lr_decay", lr_decay)],
            [eta, eps, inside, lr_decay],
            check_finite,
        )

    def _init_state(self, state):
        state.G[...] = self.G0
