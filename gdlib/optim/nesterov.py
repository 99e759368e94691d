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

from .. import _checks
from .._numba import jit, twins, use_parallel
from .base import Optimizer
from .momentum import momentum_update


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


_momentum_serial, _momentum_parallel = momentum_update.serial, momentum_update.parallel
_shifted_serial, _shifted_parallel = nesterov_shifted_update.serial, nesterov_shifted_update.parallel


@jit
def nesterov_step(theta, g, S, h, c):
    c[0] += 1.0
    inside = h[2] != 0.0
    small = not use_parallel(theta.size, h)
    if h[3] != 0.0:
        if small:
            _shifted_serial(theta, g, S[0], h[0], h[1], inside)
        else:
            _shifted_parallel(theta, g, S[0], h[0], h[1], inside)
    elif small:
        _momentum_serial(theta, g, S[0], h[0], h[1], inside)
    else:
        _momentum_parallel(theta, g, S[0], h[0], h[1], inside)


@jit
def nesterov_lookahead(theta, S, h, out):
    """out ← θ − γ v (seed form), or θ itself (shifted form)."""
    if h[3] != 0.0:
        out[:] = theta
        return
    T = theta.dtype.type
    shift = T(h[1]) if h[2] != 0.0 else T(h[1] * h[0])
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

    state_names = ("v",)
    _packed_step = staticmethod(nesterov_step)
    _packed_lookahead = staticmethod(nesterov_lookahead)

    def __init__(self, eta=0.01, gamma=0.9, *, form="lookahead", eta_inside_velocity=True, check_finite=True):
        eta = _checks.positive(eta, "eta")
        gamma = _checks.decay_rate(gamma, "gamma")
        form = _checks.choice(form, "form", ("lookahead", "shifted"))
        inside = _checks.flag(eta_inside_velocity, "eta_inside_velocity")
        self._finish_init(
            [("eta", eta), ("gamma", gamma), ("form", form), ("eta_inside_velocity", inside)],
            [eta, gamma, inside, form == "shifted"],
            check_finite,
        )

    def lookahead(self, theta, state):
        if self.form == "shifted":
            return theta
        return super().lookahead(theta, state)
