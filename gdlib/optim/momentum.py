"""Momentum (Qian, 1999), in the seed's form.

Update rule::

    v_t = γ v_{t−1} + η g_t
    θ_t = θ_{t−1} − v_t

``eta_inside_velocity=False`` gives the form of PyTorch (and optax), whose
buffer accumulates raw gradients and applies η afterwards::

    b_t = γ b_{t−1} + g_t,     θ_t = θ_{t−1} − η b_t

With a constant η the two produce the same θ_t (v_t = η b_t); they differ
once η changes during training, and the stored vector differs by the factor η.
Keras keeps η inside the velocity, as the seed does, with the sign flipped
(``velocity = momentum * velocity - lr * g; w += velocity``): its velocity is −v_t.
"""

from __future__ import annotations

from numba import prange

from .._numba import COUNTER, jit, twins
from .base import Optimizer
from .declare import GAMMA_MOMENTUM, eta, eta_inside_velocity, slots

HYPERS = (eta(0.01), GAMMA_MOMENTUM, eta_inside_velocity())
H = slots(HYPERS)


@twins
def momentum_update(theta, g, v, eta, gamma, eta_inside_velocity):
    """v ← γ v + η g, θ ← θ − v (or b ← γ b + g, θ ← θ − η b), in place."""
    T = theta.dtype.type
    step, decay = T(eta), T(gamma)
    if eta_inside_velocity:
        for i in prange(theta.size):
            v[i] = decay * v[i] + step * g[i]
            theta[i] -= v[i]
    else:
        for i in prange(theta.size):
            v[i] = decay * v[i] + g[i]
            theta[i] -= step * v[i]


_update = momentum_update.dispatch


@jit
def momentum_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    _update(h, theta, g, S[0], h[H.eta], h[H.gamma], h[H.eta_inside_velocity] != 0.0)


class Momentum(Optimizer):
    """Momentum: v_t = γ v_{t−1} + η g_t,  θ_t = θ_{t−1} − v_t.

    Parameters
    ----------
    eta : float
        Learning rate η > 0.
    gamma : float
        Momentum term γ in [0, 1); γ = 0 is plain gradient descent.
    eta_inside_velocity : bool
        True (seed, and Keras up to the sign of v): η multiplies the gradient
        inside v_t. False (PyTorch, optax): the velocity accumulates raw
        gradients and η scales it.

    State: ``v`` (v_t; with ``eta_inside_velocity=False`` it holds b_t).
    """

    hypers = HYPERS
    state_names = ("v",)
    _packed_step = staticmethod(momentum_step)
