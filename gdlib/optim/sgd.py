"""Vanilla gradient descent (batch, stochastic and mini-batch alike).

Update rule (notation page of the book)::

    θ_t = θ_{t−1} − η g_t,      g_t = ∇_θ J(θ_{t−1})

Batch, stochastic and mini-batch gradient descent share this update; they
differ only in how much data g_t is computed from (see ``gdlib.train``).
"""

from __future__ import annotations

from numba import prange

from .._numba import COUNTER, jit, twins
from .base import Optimizer
from .declare import eta, slots

HYPERS = (eta(0.01),)
H = slots(HYPERS)


@twins
def sgd_update(theta, g, eta):
    """θ ← θ − η g, element by element, in place."""
    step = theta.dtype.type(eta)
    for i in prange(theta.size):
        theta[i] -= step * g[i]


_update = sgd_update.dispatch


@jit
def sgd_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    _update(h, theta, g, h[H.eta])


class SGD(Optimizer):
    """Vanilla gradient descent: θ_t = θ_{t−1} − η g_t.

    Parameters
    ----------
    eta : float
        Learning rate η > 0.
    check_finite : bool
        Refuse a gradient with NaN or infinite entries (default True).

    State: none besides the step count t.
    """

    hypers = HYPERS
    state_names = ()
    _packed_step = staticmethod(sgd_step)
