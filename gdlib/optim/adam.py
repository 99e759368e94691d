"""Adam (Kingma and Ba, 2015).

Update rule::

    m_t = β1 m_{t−1} + (1 − β1) g_t
    v_t = β2 v_{t−1} + (1 − β2) g_t²
    m̂_t = m_t / (1 − β1^t),   v̂_t = v_t / (1 − β2^t)
    θ_t = θ_{t−1} − η m̂_t / (sqrt(v̂_t) + ε)

Adam is RMSprop (the v_t average) plus a momentum-like first moment m_t plus
bias correction: with β1 = 0 and ``bias_correction=False`` it is RMSprop
with ε outside the square root. You's slides put ε inside, sqrt(v̂_t + ε):
``eps_inside_sqrt=True``.
"""

from __future__ import annotations

from numba import prange

from .._numba import COUNTER, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer
from .declare import BETA1, BETA2, BIAS_CORRECTION, eps, eps_inside_sqrt, eta, slots

HYPERS = (
    eta(0.001), BETA1, BETA2, eps(1e-8),
    eps_inside_sqrt(False, "False (seed, PyTorch; Keras with ε/sqrt(1 − β2^t) for ε): sqrt(v̂_t) + ε; "
                    "True (You's slides): sqrt(v̂_t + ε)"),
    BIAS_CORRECTION,
)
H = slots(HYPERS)


@twins
def adam_update(theta, g, m, v, step_size, beta1, beta2, eps, eps_inside_sqrt, v_scale):
    """m, v ← their averages; θ ← θ − step_size · m / rms(v_scale · v), in place.

    With bias correction, step_size = η / (1 − β1^t) and v_scale = 1 / (1 − β2^t),
    so step_size · m = η m̂_t and v_scale · v = v̂_t.
    """
    T = theta.dtype.type
    step, b1, k1, b2, k2 = T(step_size), T(beta1), T(1.0 - beta1), T(beta2), T(1.0 - beta2)
    e, scale = T(eps), T(v_scale)
    for i in prange(theta.size):
        m[i] = ema(m[i], g[i], b1, k1)
        v[i] = ema(v[i], g[i] * g[i], b2, k2)
        theta[i] -= step * ratio_or_zero(m[i], rms(scale * v[i], e, eps_inside_sqrt))


_update = adam_update.dispatch


@jit
def adam_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    t = c[COUNTER.t]
    eta, beta1, beta2 = h[H.eta], h[H.beta1], h[H.beta2]
    step_size, v_scale = eta, 1.0
    if h[H.bias_correction] != 0.0:
        step_size = eta / (1.0 - beta1**t)
        v_scale = 1.0 / (1.0 - beta2**t)
    _update(h, theta, g, S[0], S[1], step_size, beta1, beta2, h[H.eps], h[H.eps_inside_sqrt] != 0.0, v_scale)


class Adam(Optimizer):
    """Adam: θ_t = θ_{t−1} − η m̂_t / (sqrt(v̂_t) + ε).

    Parameters
    ----------
    eta : float
        Learning rate η > 0 (0.001 suggested).
    beta1, beta2 : float
        Decay rates in [0, 1) of the first and second moment (0.9, 0.999).
    eps : float
        ε >= 0 (1e-8).
    eps_inside_sqrt : bool
        False (seed, PyTorch): sqrt(v̂_t) + ε. True (You's slides): sqrt(v̂_t + ε).
        Keras uses the first form with ε replaced by ε / sqrt(1 − β2^t) (Kingma
        and Ba's ε̂): it folds both bias corrections into the rate and steps by
        η sqrt(1 − β2^t) / (1 − β1^t) · m_t / (sqrt(v_t) + ε).
    bias_correction : bool
        Divide by (1 − β^t) (default). False uses m_t and v_t as they are.

    State: ``m`` (m_t) and ``v`` (v_t), both uncorrected.
    """

    hypers = HYPERS
    state_names = ("m", "v")
    _packed_step = staticmethod(adam_step)
