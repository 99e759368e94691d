"""AdaMax (Kingma and Ba, 2015, section 7.1).

Update rule::

    m_t = β1 m_{t−1} + (1 − β1) g_t
    u_t = max(β2 u_{t−1}, |g_t|)
    θ_t = θ_{t−1} − η / (1 − β1^t) · m_t / u_t

u_t is the ℓ∞ limit of Adam's v_t^{1/p} as p grows; it needs no bias
correction. The seed has no ε: where u_t = 0 every gradient so far was zero,
so m_t = 0 too and gdlib takes no step there instead of producing 0/0 = NaN.
Frameworks add an ε: PyTorch and optax inside the maximum,
u_t = max(β2 u_{t−1}, ``|g_t|`` + ε) (``eps_placement="max"``); Keras in the
denominator, m̂_t / (u_t + ε) (``eps_placement="denominator"``).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._numba import COUNTER, constants, jit, twins
from ._moments import ema, ratio_or_zero
from .base import Optimizer
from .declare import BETA1, BETA2, Hyper, eps, eta, one_of, slots

PLACEMENTS = ("max", "denominator")
PLACEMENT = constants(*PLACEMENTS)
HYPERS = (
    eta(0.002), BETA1, BETA2, eps(0.0, "ε >= 0; 0 in the seed"),
    Hyper("eps_placement", "max", one_of(*PLACEMENTS),
          "where a positive ε goes: inside the maximum (PyTorch, optax) or in the denominator (Keras)", keyword=True),
)
H = slots(HYPERS)


@twins
def adamax_update(theta, g, m, u, step_size, beta1, beta2, eps, eps_in_max):
    """m ← average, u ← max(β2 u, |g|), θ ← θ − step_size · m / u, in place."""
    T = theta.dtype.type
    step, b1, k1, b2, e = T(step_size), T(beta1), T(1.0 - beta1), T(beta2), T(eps)
    for i in prange(theta.size):
        m[i] = ema(m[i], g[i], b1, k1)
        if eps_in_max:
            u[i] = max(b2 * u[i], np.abs(g[i]) + e)
            theta[i] -= step * ratio_or_zero(m[i], u[i])
        else:
            u[i] = max(b2 * u[i], np.abs(g[i]))
            theta[i] -= step * ratio_or_zero(m[i], u[i] + e)


_update = adamax_update.dispatch


@jit
def adamax_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    step_size = h[H.eta] / (1.0 - h[H.beta1] ** c[COUNTER.t])
    eps_in_max = h[H.eps_placement] == PLACEMENT.max
    _update(h, theta, g, S[0], S[1], step_size, h[H.beta1], h[H.beta2], h[H.eps], eps_in_max)


class AdaMax(Optimizer):
    """AdaMax: u_t = max(β2 u_{t−1}, ``|g_t|``), θ_t = θ_{t−1} − η m̂_t / u_t.

    Parameters
    ----------
    eta : float
        Learning rate η > 0 (0.002 suggested).
    beta1, beta2 : float
        Decay rates in [0, 1) (0.9, 0.999).
    eps : float
        ε >= 0; 0 in the seed (see the module docstring for 0/0).
    eps_placement : {"max", "denominator"}
        Where a positive ε goes: inside the maximum (PyTorch, optax) or added
        to u_t in the denominator (Keras).

    State: ``m`` (m_t) and ``u`` (u_t).
    """

    hypers = HYPERS
    state_names = ("m", "u")
    _packed_step = staticmethod(adamax_step)
