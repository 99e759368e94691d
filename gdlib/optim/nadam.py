"""Nadam: Nesterov momentum in Adam (Dozat, 2016).

All four forms share one shape: with the moments

    m_t = b_t m_{t−1} + (1 − b_t) g_t,     v_t = β2 v_{t−1} + (1 − β2) g_t²,
    v̂_t = v_t / (1 − β2^t),

the update is

    θ_t = θ_{t−1} − η (a_t m_t + c_t g_t) / (sqrt(v̂_t) + ε),

and the forms differ only in b_t, a_t and c_t:

``form="seed"`` (Ruder's equation, constant β1):
    b_t = β1,  a_t = β1 / (1 − β1^t),  c_t = (1 − β1) / (1 − β1^t).
    Ruder notes he ignores that the look-ahead term should be corrected by
    1 − β1^{t+1} rather than 1 − β1^t.
``form="optax"`` (constant β1 with that correction, as optax's nadam):
    b_t = β1,  a_t = β1 / (1 − β1^{t+1}),  c_t = (1 − β1) / (1 − β1^t).
``form="dozat"`` (Dozat's Algorithm 2 with a momentum schedule):
    b_t = μ_t,  a_t = μ_{t+1} / (1 − Π_t μ_{t+1}),  c_t = (1 − μ_t) / (1 − Π_t),
    with μ_t = β1 (1 − ½ · 0.96^{t ψ}), ψ = ``momentum_decay``, Π_t = μ_1 ⋯ μ_t.
``form="pytorch"`` (``torch.optim.NAdam``):
    Dozat's a_t and c_t with the schedule, but the first moment averaged
    with the constant β1 (b_t = β1).

The running product Π_t is kept in ``state.counters[1]``.
"""

from __future__ import annotations

from numba import prange

from .. import _checks
from .._numba import PARALLEL_MIN_SIZE, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer

FORMS = ("seed", "dozat", "pytorch", "optax")


@twins
def nadam_update(theta, g, m, v, eta, b_t, beta2, eps, eps_inside_sqrt, v_scale, a_t, c_t):
    """m ← b_t m + (1 − b_t) g, v ← average; θ ← θ − η (a_t m + c_t g) / rms(v̂), in place."""
    T = theta.dtype.type
    step, decay_m, keep_g = T(eta), T(b_t), T(1.0 - b_t)
    decay_v, keep_g2 = T(beta2), T(1.0 - beta2)
    e, scale, a, c = T(eps), T(v_scale), T(a_t), T(c_t)
    for i in prange(theta.size):
        m[i] = ema(m[i], g[i], decay_m, keep_g)
        v[i] = ema(v[i], g[i] * g[i], decay_v, keep_g2)
        direction = a * m[i] + c * g[i]
        theta[i] -= step * ratio_or_zero(direction, rms(scale * v[i], e, eps_inside_sqrt))


_serial, _parallel = nadam_update.serial, nadam_update.parallel


@jit
def momentum_schedule(beta1, psi, t):
    """μ_t = β1 (1 − ½ · 0.96^{t ψ})."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))


@jit
def nadam_step(theta, g, S, h, c):
    c[0] += 1.0
    t = c[0]
    eta, beta1, beta2, eps, inside, form, psi = h[0], h[1], h[2], h[3], h[4] != 0.0, h[5], h[6]
    b_m = beta1
    if form == 0.0:  # seed
        a = beta1 / (1.0 - beta1**t)
        cg = (1.0 - beta1) / (1.0 - beta1**t)
    elif form == 3.0:  # optax
        a = beta1 / (1.0 - beta1 ** (t + 1.0))
        cg = (1.0 - beta1) / (1.0 - beta1**t)
    else:  # dozat (1) and pytorch (2)
        mu = momentum_schedule(beta1, psi, t)
        mu_next = momentum_schedule(beta1, psi, t + 1.0)
        c[1] *= mu
        a = mu_next / (1.0 - c[1] * mu_next)
        cg = (1.0 - mu) / (1.0 - c[1])
        if form == 1.0:
            b_m = mu
    v_scale = 1.0 / (1.0 - beta2**t)
    if theta.size < PARALLEL_MIN_SIZE:
        _serial(theta, g, S[0], S[1], eta, b_m, beta2, eps, inside, v_scale, a, cg)
    else:
        _parallel(theta, g, S[0], S[1], eta, b_m, beta2, eps, inside, v_scale, a, cg)


class Nadam(Optimizer):
    """Nadam: θ_t = θ_{t−1} − η / (sqrt(v̂_t) + ε) · (β1 m̂_t + (1 − β1) g_t / (1 − β1^t)).

    Parameters
    ----------
    eta, beta1, beta2, eps : float
        As for :class:`Adam`; η = 0.002 by default (Dozat's choice).
    form : {"seed", "dozat", "pytorch", "optax"}
        Which published form of the update (see the module docstring).
    momentum_decay : float
        ψ in the schedule μ_t = β1 (1 − ½ · 0.96^{t ψ}) of the "dozat" and
        "pytorch" forms (0.004, PyTorch's default).
    eps_inside_sqrt : bool
        False: sqrt(v̂_t) + ε (all four forms). True: sqrt(v̂_t + ε).

    State: ``m`` (m_t) and ``v`` (v_t).
    """

    state_names = ("m", "v")
    _packed_step = staticmethod(nadam_step)

    def __init__(self, eta=0.002, beta1=0.9, beta2=0.999, eps=1e-8, *, form="seed", momentum_decay=0.004,
                 eps_inside_sqrt=False, check_finite=True):
        eta = _checks.positive(eta, "eta")
        beta1 = _checks.decay_rate(beta1, "beta1")
        beta2 = _checks.decay_rate(beta2, "beta2")
        eps = _checks.non_negative(eps, "eps")
        form = _checks.choice(form, "form", FORMS)
        psi = _checks.positive(momentum_decay, "momentum_decay")
        inside = _checks.flag(eps_inside_sqrt, "eps_inside_sqrt")
        self._finish_init(
            [("eta", eta), ("beta1", beta1), ("beta2", beta2), ("eps", eps), ("form", form),
             ("momentum_decay", psi), ("eps_inside_sqrt", inside)],
            [eta, beta1, beta2, eps, inside, float(FORMS.index(form)), psi],
            check_finite,
        )

    def _init_state(self, state):
        state.counters[1] = 1.0  # empty product Π_0
