"""Vanilla gradient descent (batch, stochastic and mini-batch alike).

Update rule (notation page of the book)::

    θ_t = θ_{t−1} − η g_t,      g_t = ∇_θ J(θ_{t−1})

Batch, stochastic and mini-batch gradient descent share this update; they
differ only in how much data g_t is computed from (see ``gdlib.train``).
"""

from __future__ import annotations

from numba import prange

from .._numba import jit, twins, use_parallel
from .base import Optimizer
from .. import _checks


@twins
def sgd_update(theta, g, eta):
    """θ ← θ − η g, element by element, in place."""
    step = theta.dtype.type(eta)
    for i in prange(theta.size):
        theta[i] -= step * g[i]


_serial, _parallel = sgd_update.serial, sgd_update.parallel


@jit
def sgd_step(theta, g, S, h, c):
    c[0] += 1.0
    if not use_parallel(theta.size, h):
        _serial(theta, g, h[0])
    else:
        _parallel(theta, g, h[0])


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

    state_names = ()
    _packed_step = staticmethod(sgd_step)

    def __init__(self, eta=0.01, *, check_finite=True):
        eta = _checks.positive(eta, "eta")
        self._finish_init([("eta", eta)], [eta], check_finite)
