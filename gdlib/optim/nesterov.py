"""Nesterov accelerated gradient (Nesterov, 1983; Sutskever et al., 2013).

Seed form (``form="lookahead"``): momentum whose gradient is taken at the
look-ahead point θ_{t−1} − γ v_{t−1}::

    g_t = ∇_θ J(θ_{t−1} − γ v_{t−1})
    v_t = γ v_{t−1} + η g_t
    θ_t = θ_{t−1} − v_t

The update arithmetic is exactly Momentum's; only the point where the
gradient is evaluated differs, which is what :meth:`Nesterov.lookahead`
returns.

Framework form (``form="shifted"``, PyTorch, Keras, optax): store the
look-ahead point itself, φ_t = θ_t − γ v_t. Substituting gives an update
whose gradient is taken at the stored parameters::

    g_t = ∇_φ J(φ_{t−1})
    v_t = γ v_{t−1} + η g_t
    φ_t = φ_{t−1} − (γ v_t + η g_t)

The two forms are one algorithm seen in two coordinates: started from the
same point with v_0 = 0, φ_t = θ_t − γ v_t at every step (a test checks it).
"""

from __future__ import annotations

from numba import prange

from .._numba import COUNTER, constants, jit, twins
from .base import Optimizer
from .declare import GAMMA_MOMENTUM, Hyper, eta, eta_inside_velocity, one_of, slots
from .momentum import momentum_update

FORMS = ("lookahead", "shifted")
FORM = constants(*FORMS)
HYPERS = (
    eta(0.01), GAMMA_MOMENTUM,
    Hyper("form", "lookahead", one_of(*FORMS), "where the gradient is taken (see the module docstring)", keyword=True),
    eta_inside_velocity(),
)
H = slots(HYPERS)


@twins
def nesterov_shifted_update(theta, g, v, eta, gamma, eta_inside_velocity):
    """v ← γ v + η g, φ ← φ − (γ v + η g), in place (φ is stored in ``theta``)."""
    T = theta.dtype.type
    step, decay = T(eta), T(gamma)
    if eta_inside_velocity:
        for i in prange(theta.size):
            v[i] = decay * v[i] + step * g[i]
            theta[i] -= decay * v[i] + step * g[i]
    else:
        for i in prange(theta.size):
            v[i] = decay * v[i] + g[i]
            theta[i] -= step * (decay * v[i] + g[i])


_momentum, _shifted = momentum_update.dispatch, nesterov_shifted_update.dispatch


@jit
def nesterov_step(theta, g, S, h, c):
    c[COUNTER.t] += 1.0
    inside = h[H.eta_inside_velocity] != 0.0
    if h[H.form] == FORM.shifted:
        _shifted(h, theta, g, S[0], h[H.eta], h[H.gamma], inside)
    else:
        _momentum(h, theta, g, S[0], h[H.eta], h[H.gamma], inside)


@jit
def nesterov_lookahead(theta, S, h, out):
    """out ← θ − γ v (seed form), or θ itself (shifted form)."""
    if h[H.form] == FORM.shifted:
        out[:] = theta
        return
    T = theta.dtype.type
    shift = T(h[H.gamma]) if h[H.eta_inside_velocity] != 0.0 else T(h[H.gamma] * h[H.eta])
    v = S[0]
    for i in range(theta.size):
        out[i] = theta[i] - shift * v[i]


class Nesterov(Optimizer):
    """Nesterov accelerated gradient.

    ``form="lookahead"`` (seed): evaluate g_t at ``lookahead(theta, state)``
    = θ_{t−1} − γ v_{t−1}, then v_t = γ v_{t−1} + η g_t, θ_t = θ_{t−1} − v_t.

    ``form="shifted"`` (PyTorch, Keras, optax): the stored parameters are the
    look-ahead point φ; evaluate g_t at φ_{t−1}, then
    v_t = γ v_{t−1} + η g_t, φ_t = φ_{t−1} − (γ v_t + η g_t).

    Parameters
    ----------
    eta, gamma : float
        Learning rate η > 0 and momentum term γ in [0, 1).
    form : {"lookahead", "shifted"}
        Which coordinates the parameters live in (see the module docstring).
    eta_inside_velocity : bool
        As for :class:`Momentum`; False is PyTorch's buffer b_t = v_t / η.
        In the look-ahead form the look-ahead point then uses the η given here.

    State: ``v`` (v_t).
    """

    hypers = HYPERS
    state_names = ("v",)
    _packed_step = staticmethod(nesterov_step)
    _packed_lookahead = staticmethod(nesterov_lookahead)

    def lookahead(self, theta, state):
        if self.form == "shifted":
            return theta
        return super().lookahead(theta, state)
