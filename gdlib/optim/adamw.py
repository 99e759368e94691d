"""AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

Update rule, in the order of ``torch.optim.AdamW``::

    θ'      = (1 − η λ) θ_{t−1}                       (decay, before the gradient step)
    m_t     = β1 m_{t−1} + (1 − β1) g_t
    v_t     = β2 v_{t−1} + (1 − β2) g_t²
    m̂_t     = m_t / (1 − β1^t),   v̂_t = v_t / (1 − β2^t)
    θ_t     = θ' − η m̂_t / (sqrt(v̂_t) + ε)

that is θ_t = θ_{t−1} − η λ θ_{t−1} − η m̂_t / (sqrt(v̂_t) + ε), with g_t the
gradient of the loss alone. Adding λ/2 ‖θ‖² to the loss instead (L2
regularisation, ``torch.optim.Adam(weight_decay=λ)``) would put λ θ inside
g_t, where Adam divides it by sqrt(v̂_t): parameters with large gradients
would be decayed less. AdamW keeps the decay out of the moments, so every
parameter shrinks by the same factor 1 − η λ per step.

Loshchilov and Hutter write the decay as s(t) λ θ, with s(t) a schedule's
multiplier of the learning rate (their η_t) rather than the learning rate
itself; PyTorch, optax and Keras multiply λ by the learning rate η, as here.
Their λ is therefore η λ here, and λ here is their λ′ = λ/η (Proposition 1).
With a schedule (``step(..., eta=...)``), the decay uses the scheduled η.
"""

from __future__ import annotations

from numba import prange

from .. import _checks
from .._numba import COUNTER, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer
from .declare import BETA1, BETA2, Hyper, eps, eta, slots

HYPERS = (
    eta(0.001), BETA1, BETA2, eps(1e-8),
    Hyper("weight_decay", 0.01, _checks.non_negative, "λ >= 0: θ shrinks by the factor 1 − η λ each step "
          "(0.01, PyTorch's default; 0 is Adam)"),
)
H = slots(HYPERS)


@twins
def adamw_update(theta, g, m, v, keep, step_size, beta1, beta2, eps, v_scale):
    """θ ← keep · θ; m, v ← their averages; θ ← θ − step_size · m / (sqrt(v_scale · v) + ε), in place.

    keep = 1 − η λ, step_size = η / (1 − β1^t) and v_scale = 1 / (1 − β2^t).
    """
    T = theta.dtype.type
    shrink, step, b1, k1, b2, k2 = T(keep), T(step_size), T(beta1), T(1.0 - beta1), T(beta2), T(1.0 - beta2)
    e, scale = T(eps), T(v_scale)
    for i in prange(theta.size):
        theta[i] *= shrink
        m[i] = ema(m[i], g[i], b1, k1)
        v[i] = ema(v[i], g[i] * g[i], b2, k2)
        theta[i] -= step * ratio_or_zero(m[i], rms(scale * v[i], e, False))


_update = adamw_update.dispatch


@jit
def adamw_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    t = c[COUNTER.t]
    eta, beta1, beta2 = h[H.eta], h[H.beta1], h[H.beta2]
    keep = 1.0 - eta * h[H.weight_decay]
    step_size = eta / (1.0 - beta1**t)
    v_scale = 1.0 / (1.0 - beta2**t)
    _update(h, theta, g, S[0], S[1], keep, step_size, beta1, beta2, h[H.eps], v_scale)


class AdamW(Optimizer):
    """AdamW: θ_t = θ_{t−1} − η λ θ_{t−1} − η m̂_t / (sqrt(v̂_t) + ε).

    Parameters
    ----------
    eta : float
        Learning rate η > 0 (0.001).
    beta1, beta2 : float
        Decay rates in [0, 1) of the first and second moment (0.9, 0.999).
    eps : float
        ε >= 0 (1e-8), outside the square root as in PyTorch.
    weight_decay : float
        λ >= 0 (0.01, PyTorch's default). The decay is decoupled: it is not
        part of g_t, so the moments never see it. λ = 0 gives Adam.

    State: ``m`` (m_t) and ``v`` (v_t), both uncorrected.
    """

    hypers = HYPERS
    state_names = ("m", "v")
    _packed_step = staticmethod(adamw_step)
