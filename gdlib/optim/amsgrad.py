"""AMSGrad (Reddi, Kale and Kumar, 2018).

Update rule, as the seed writes it (no bias correction)::

    m_t = β1 m_{t−1} + (1 − β1) g_t
    v_t = β2 v_{t−1} + (1 − β2) g_t²
    v̂_t = max(v̂_{t−1}, v_t)
    θ_t = θ_{t−1} − η m_t / (sqrt(v̂_t) + ε)

Because v̂_t never decreases, the effective step η / (sqrt(v̂_t) + ε) never
increases. Frameworks add Adam's bias correction, in two different ways:

* ``bias_correction=True, max_of="raw"`` (PyTorch): v̂_t = max(v̂_{t−1}, v_t),
  then θ_t = θ_{t−1} − η/(1 − β1^t) · m_t / (sqrt(v̂_t / (1 − β2^t)) + ε);
* ``bias_correction=True, max_of="corrected"`` (optax): the maximum is taken over
  corrected values, v̂_t = max(v̂_{t−1}, v_t / (1 − β2^t)), then
  θ_t = θ_{t−1} − η/(1 − β1^t) · m_t / (sqrt(v̂_t) + ε).
"""

from __future__ import annotations

from numba import prange

from .._numba import COUNTER, constants, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer
from .declare import BETA1, BETA2, BIAS_CORRECTION, Hyper, eps, eps_inside_sqrt, eta, one_of, slots

MAXIMA = ("raw", "corrected")
MAX_OF = constants(*MAXIMA)
HYPERS = (
    eta(0.001), BETA1, BETA2, eps(1e-8),
    eps_inside_sqrt(False, "False (seed): sqrt(v̂_t) + ε; True: sqrt(v̂_t + ε)"),
    BIAS_CORRECTION._replace(default=False, doc="False (seed, Reddi et al.): m_t and v̂_t as they are"),
    Hyper("max_of", "raw", one_of(*MAXIMA),
          "with bias correction, the maximum over raw v_t (PyTorch) or corrected v_t (optax)", keyword=True),
)
H = slots(HYPERS)


@twins
def amsgrad_update(theta, g, m, v, v_hat, step_size, beta1, beta2, eps, eps_inside_sqrt, v_scale,
                   max_of_corrected):
    """m, v ← their averages; v̂ ← max(v̂, ·); θ ← θ − step_size · m / rms(·), in place."""
    T = theta.dtype.type
    step, b1, k1, b2, k2 = T(step_size), T(beta1), T(1.0 - beta1), T(beta2), T(1.0 - beta2)
    e, scale = T(eps), T(v_scale)
    if max_of_corrected:
        for i in prange(theta.size):
            m[i] = ema(m[i], g[i], b1, k1)
            v[i] = ema(v[i], g[i] * g[i], b2, k2)
            v_hat[i] = max(v_hat[i], scale * v[i])
            theta[i] -= step * ratio_or_zero(m[i], rms(v_hat[i], e, eps_inside_sqrt))
    else:
        for i in prange(theta.size):
            m[i] = ema(m[i], g[i], b1, k1)
            v[i] = ema(v[i], g[i] * g[i], b2, k2)
            v_hat[i] = max(v_hat[i], v[i])
            theta[i] -= step * ratio_or_zero(m[i], rms(scale * v_hat[i], e, eps_inside_sqrt))


_update = amsgrad_update.dispatch


@jit
def amsgrad_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    t = c[COUNTER.t]
    eta, beta1, beta2 = h[H.eta], h[H.beta1], h[H.beta2]
    step_size, v_scale = eta, 1.0
    correct = h[H.bias_correction] != 0.0
    if correct:
        step_size = eta / (1.0 - beta1**t)
        v_scale = 1.0 / (1.0 - beta2**t)
    corrected = correct and h[H.max_of] == MAX_OF.corrected  # max_of is ignored without bias correction
    inside = h[H.eps_inside_sqrt] != 0.0
    _update(h, theta, g, S[0], S[1], S[2], step_size, beta1, beta2, h[H.eps], inside, v_scale, corrected)


class AMSGrad(Optimizer):
    """AMSGrad: v̂_t = max(v̂_{t−1}, v_t), θ_t = θ_{t−1} − η m_t / (sqrt(v̂_t) + ε).

    Parameters
    ----------
    eta, beta1, beta2, eps : float
        As for :class:`Adam` (0.001, 0.9, 0.999, 1e-8).
    eps_inside_sqrt : bool
        False (seed): sqrt(v̂_t) + ε. True: sqrt(v̂_t + ε).
    bias_correction : bool
        False (seed, Reddi et al.): use m_t and v̂_t as they are.
    max_of : {"raw", "corrected"}
        With bias correction, whether the running maximum is over raw v_t
        (PyTorch) or over v_t / (1 − β2^t) (optax). Ignored without it.

    State: ``m`` (m_t), ``v`` (v_t) and ``v_hat`` (v̂_t, the running maximum).
    """

    hypers = HYPERS
    state_names = ("m", "v", "v_hat")
    _packed_step = staticmethod(amsgrad_step)
