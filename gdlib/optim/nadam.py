"""Nadam: Nesterov momentum in Adam (Dozat, 2016).

All four forms share one shape: with the moments

    m_t = b_t m_{t−1} + (1 − b_t) g_t,     v_t = β2 v_{t−1} + (1 − β2) g_t²,
    v̂_t = v_t / (1 − β2^t),

the update is

    θ_t = θ_{t−1} − η (a_t m_t + c_t g_t) / (sqrt(v̂_t) + ε),

and the forms differ only in b_t, a_t and c_t:

``form="seed"`` (Ruder's equation, constant β1):
    b_t = β1,  a_t = β1 / (1 − β1^t),  c_t = (1 − β1) / (1 − β1^t).
    Ruder's derivation writes β1 m_{t−1} / (1 − β1^t) as β1 m̂_{t−1}, and
    notes that it ignores that m̂_{t−1} is corrected by 1 − β1^{t−1}, not
    1 − β1^t; the look-ahead term β1 m̂_t then keeps the correction 1 − β1^t.
``form="optax"`` (optax's nadam):
    constant β1, and the look-ahead term corrected by 1 − β1^{t+1}, the
    correction of the next step's mean:
    b_t = β1,  a_t = β1 / (1 − β1^{t+1}),  c_t = (1 − β1) / (1 − β1^t).
``form="dozat"`` (Dozat's Algorithm 2 with a momentum schedule):
    b_t = μ_t,  a_t = μ_{t+1} / (1 − Π_t μ_{t+1}),  c_t = (1 − μ_t) / (1 − Π_t),
    with μ_t = β1 (1 − ½ · 0.96^{t ψ}), ψ = ``momentum_decay``, Π_t = μ_1 ⋯ μ_t.
    v̂_t is Adam's v_t / (1 − β2^t): Algorithm 2 also multiplies it by β2, which
    this form leaves out, as optax and PyTorch do (the paper's steps are larger
    by 1/√β2 ≈ 1.0005).
``form="pytorch"`` (``torch.optim.NAdam``):
    Dozat's a_t and c_t with the schedule, but the first moment averaged
    with the constant β1 (b_t = β1).

The running product Π_t is kept in ``state.counters[COUNTER.product]`` (``counters[1]``).
``coefficients(form, t)`` returns the b_t, a_t and c_t of a form at given steps,
computed by the same compiled function (``form_coefficients``) as the step.
"""

from __future__ import annotations

import collections

import numpy as np
from numba import prange

from .. import _checks
from .._numba import COUNTER, constants, jit, twins
from ._moments import ema, ratio_or_zero, rms
from .base import Optimizer
from .declare import BETA1, BETA2, Hyper, eps, eps_inside_sqrt, eta, one_of, slots

FORMS = ("seed", "dozat", "pytorch", "optax")
FORM = constants(*FORMS)
HYPERS = (
    eta(0.002, "learning rate η > 0 (Dozat's 0.002)"), BETA1, BETA2, eps(1e-8),
    Hyper("form", "seed", one_of(*FORMS), "which published form of the update (see the module docstring)",
          keyword=True),
    Hyper("momentum_decay", 0.004, _checks.positive, "ψ in μ_t = β1 (1 − ½ · 0.96^{t ψ}) (dozat, pytorch)",
          keyword=True),
    eps_inside_sqrt(False, "False: sqrt(v̂_t) + ε (all four forms); True: sqrt(v̂_t + ε)"),
)
H = slots(HYPERS)


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


_update = nadam_update.dispatch


@jit
def momentum_schedule(beta1, psi, t):
    """μ_t = β1 (1 − ½ · 0.96^{t ψ})."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))


@jit
def form_coefficients(form, beta1, psi, t, product):
    """(b_t, a_t, c_t, Π_t) of ``form`` (a ``FORM`` code) at step t, given Π_{t−1} = ``product``.

    The one place the coefficients are computed: ``nadam_step`` and ``coefficients`` both call it.
    Π_t, the running product μ_1 ⋯ μ_t, is returned unchanged by the seed and optax forms.
    """
    b_t = beta1
    if form == FORM.seed:
        a_t = beta1 / (1.0 - beta1**t)
        c_t = (1.0 - beta1) / (1.0 - beta1**t)
    elif form == FORM.optax:
        a_t = beta1 / (1.0 - beta1 ** (t + 1.0))
        c_t = (1.0 - beta1) / (1.0 - beta1**t)
    else:  # FORM.dozat and FORM.pytorch: the momentum schedule μ_t and its product Π_t
        mu = momentum_schedule(beta1, psi, t)
        mu_next = momentum_schedule(beta1, psi, t + 1.0)
        product *= mu
        a_t = mu_next / (1.0 - product * mu_next)
        c_t = (1.0 - mu) / (1.0 - product)
        if form == FORM.dozat:
            b_t = mu
    return b_t, a_t, c_t, product


@jit
def nadam_step(theta, g, S, h, c):
    """b_t, a_t and c_t of the chosen form (the module docstring), then the update."""
    c[COUNTER.t] += 1.0
    t = c[COUNTER.t]
    beta2 = h[H.beta2]
    b_t, a_t, c_t, product = form_coefficients(h[H.form], h[H.beta1], h[H.momentum_decay], t, c[COUNTER.product])
    c[COUNTER.product] = product
    v_scale = 1.0 / (1.0 - beta2**t)
    _update(h, theta, g, S[0], S[1], h[H.eta], b_t, beta2, h[H.eps], h[H.eps_inside_sqrt] != 0.0, v_scale, a_t, c_t)


@jit
def _coefficients_at(form, beta1, psi, steps):
    """Rows (b_t, a_t, c_t) at the sorted distinct ``steps``, walking every step from 1 (Π_t is a running product)."""
    table = np.empty((steps.size, 3))
    product = 1.0  # the empty product Π_0, as Nadam's state starts
    j = 0
    for step in range(1, steps[steps.size - 1] + 1):
        b_t, a_t, c_t, product = form_coefficients(form, beta1, psi, float(step), product)
        if step == steps[j]:
            table[j, 0], table[j, 1], table[j, 2] = b_t, a_t, c_t
            j += 1
    return table


Coefficients = collections.namedtuple("Coefficients", "b a c")

#: The largest t that ``coefficients`` takes. It walks every step from 1 to t,
#: as the optimizer does (Π_t of the dozat and pytorch forms is the running
#: product μ_1 ⋯ μ_t, computed step by step so that the values are the step's
#: bit for bit): its time grows with t, about 0.1 s per 10^6 steps, and
#: 10^7 (about a second) is longer than any run of the course.
MAX_STEP = 10**7


def coefficients(form, t, *, beta1=0.9, momentum_decay=0.004):
    """The (b_t, a_t, c_t) that ``Nadam(form=form, beta1=beta1, momentum_decay=momentum_decay)`` uses at step t.

    Template: m_t = b_t m_{t−1} + (1 − b_t) g_t and θ_t = θ_{t−1} − η (a_t m_t + c_t g_t) / (sqrt(v̂_t) + ε).
    ``t`` is a step number 1 ≤ t ≤ ``MAX_STEP`` (10^7) or an array of them; returns a named tuple
    ``(b, a, c)`` of float64 arrays shaped like ``t``. Computed by ``form_coefficients``, the function the
    compiled step calls, walking the steps from 1 to the largest t.
    """
    opt = Nadam(beta1=beta1, momentum_decay=momentum_decay, form=form)  # validates as the optimizer does
    steps = np.asarray(t)
    if steps.size == 0 or not np.issubdtype(steps.dtype, np.integer) or steps.min() < 1:
        raise ValueError(f"t must be a step number t >= 1 or an array of them (integers), got {t!r}")
    if steps.max() > MAX_STEP:
        raise ValueError(f"t must be at most {MAX_STEP:,} (got {int(steps.max()):,}): coefficients walks every step "
                         "from 1 to t, as the optimizer computes Π_t, so its time grows with t")
    distinct, where = np.unique(steps.astype(np.int64), return_inverse=True)
    table = _coefficients_at(opt.hyper[H.form], opt.hyper[H.beta1], opt.hyper[H.momentum_decay], distinct)
    b, a, c = (table[where, k].reshape(steps.shape) for k in range(3))
    return Coefficients(b, a, c)


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

    hypers = HYPERS
    state_names = ("m", "v")
    _packed_step = staticmethod(nadam_step)

    def _init_state(self, state):
        state.counters[COUNTER.product] = 1.0  # empty product Π_0
