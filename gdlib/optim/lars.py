"""LARS: layer-wise adaptive rate scaling (You, Gitman and Ginsburg, 2017).

Momentum SGD in which every layer l gets its own step size, proportional to
the ratio of its weight norm to its gradient norm. For each layer θ_l of θ
(a segment of the flat vector, see :class:`gdlib.Layers`)::

    u_t     = g_t + λ θ_{t−1}                                  (λ = 0 where the layer's decay flag is off)
    r_t     = c ‖θ_{t−1}‖ / (‖g_t‖ + λ ‖θ_{t−1}‖ + ε)            (form "paper", the trust ratio)
    v_t     = γ v_{t−1} + η r_t u_t
    θ_t     = θ_{t−1} − v_t

with the norms taken over the layer, c the trust coefficient (You et al.'s
η, "how much we trust the layer to change its weights in one update"), η
the global learning rate and γ the momentum term. The paper writes the
denominator as ‖g‖ + λ‖θ‖, an upper bound of ‖g + λθ‖.

Framework variants, each an explicit option:

* ``form="optax"``: r_t = c ‖θ_{t−1}‖ / (‖u_t‖ + ε), the norm of the decayed
  gradient itself (``optax.lars``, which chains ``add_decayed_weights``,
  ``scale_by_trust_ratio``, the learning rate and ``trace``);
* ``nesterov=True``: θ_t = θ_{t−1} − (η r_t u_t + γ v_t) (optax's ``nesterov``).

Conventions shared with optax: r_t = 1 when ‖θ_{t−1}‖ = 0 or the
denominator's norm is 0 (a layer initialised at zero, such as a bias, still
moves; at c = 0.001 this is a jump of the step by 1/c), and r_t = 1 in a
layer whose trust flag is off. optax keeps −v_t (its trace holds the
update, with the sign); gdlib keeps v_t, as Momentum does.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .. import _checks
from .._numba import COUNTER, jit, twins, use_parallel
from .base import Optimizer, nonfinite_entries
from .declare import GAMMA_MOMENTUM, Hyper, eps, eta, one_of, slots
from .layers import LAYERS, LayerwiseOptimizer, block, n_blocks, n_segments, ordered_sum, segment

FORMS = ("paper", "optax")
HYPERS = (
    eta(1.0, "global learning rate η > 0 (it multiplies c r_t, so it is much larger than SGD's)"),
    GAMMA_MOMENTUM,
    Hyper("weight_decay", 0.0, _checks.non_negative, "λ >= 0, added to the gradient before the trust ratio (0)"),
    Hyper("trust_coefficient", 0.001, _checks.positive, "c > 0 in r_t = c ‖θ‖ / (...) (0.001, optax's default)"),
    eps(0.0, "ε >= 0 added to the trust ratio's denominator (0)"),
    Hyper("nesterov", False, _checks.flag, "True: θ_t = θ_{t−1} − (η r_t u_t + γ v_t) (optax's nesterov)",
          keyword=True),
    Hyper("form", "paper", one_of(*FORMS), "'paper': r_t's denominator ‖g_t‖ + λ‖θ‖ + ε (You et al., 2017); "
          "'optax': ‖g_t + λθ‖ + ε", keyword=True),
    LAYERS,
)
H = slots(HYPERS)


@jit(reduction=True)
def lars_block_sums(theta, g, lam):
    """(Σθ², Σg², Σ(g + λθ)²) in float64; ``lam`` is λ in θ's dtype.

    Compiled as a reduction (``jit(reduction=True)``): LLVM sums in SIMD
    lanes; u = g + λθ itself is one multiply and one add, as in ``lars_update``.
    """
    s_theta, s_g, s_u = 0.0, 0.0, 0.0
    for i in range(theta.size):
        u = g[i] + lam * theta[i]
        s_theta += np.float64(theta[i]) ** 2
        s_g += np.float64(g[i]) ** 2
        s_u += np.float64(u) ** 2
    return s_theta, s_g, s_u


@twins
def lars_norms(theta, g, lo, hi, wd, out):
    """out[b] = (‖θ‖², ‖g‖², ‖g + λθ‖²) over block b of θ[lo:hi] (``layers.block``).

    The blocks are the same in both twins, and ``ordered_sum`` adds them in
    order: the serial and parallel steps agree bit for bit (``tests/test_twins.py``).
    """
    lam = theta.dtype.type(wd)
    for b in prange(out.shape[0]):
        start, stop = block(lo, hi, b)
        out[b, 0], out[b, 1], out[b, 2] = lars_block_sums(theta[start:stop], g[start:stop], lam)


@twins
def lars_update(theta, g, v, lo, hi, wd, scale, gamma, nesterov):
    """On θ[lo:hi]: u = g + λθ; v ← γ v + scale · u; θ ← θ − v (Nesterov: θ ← θ − scale · u − γ v).

    scale = η r_t, the learning rate times the layer's trust ratio.
    """
    T = theta.dtype.type
    lam, s, gam = T(wd), T(scale), T(gamma)
    theta, g, v = theta[lo:hi], g[lo:hi], v[lo:hi]  # indices from 0: no negative-index wraparound, so LLVM vectorises
    for i in prange(theta.size):
        step = s * (g[i] + lam * theta[i])
        v[i] = gam * v[i] + step
        if nesterov:
            theta[i] -= step + gam * v[i]
        else:
            theta[i] -= v[i]


_update_serial, _update_parallel = lars_update.serial, lars_update.parallel
_norms_serial, _norms_parallel = lars_norms.serial, lars_norms.parallel


@jit
def trust_ratio(c, norm_theta, norm_den, eps):
    """c ‖θ‖ / (norm_den + ε), or 1 where either norm is 0 (optax's convention)."""
    if norm_theta == 0.0 or norm_den == 0.0:
        return 1.0
    return c * norm_theta / (norm_den + eps)


@jit
def lars_run(theta, g, S, h, c, check):
    """The step, in two passes: every layer's trust ratio (its norms read θ_l
    and g_l), then every layer's update. With ``check``, the first pass is
    also the finite check: a layer whose Σg² is finite has a finite g_l (a NaN
    or ±inf makes the sum NaN or inf); only a layer whose sum is not finite
    (or whose norms are not needed) is counted entry by entry. Returns the
    number of NaN or infinite entries of g; updates nothing unless it is 0."""
    parallel = use_parallel(theta.size, h)
    nesterov, paper = h[H.nesterov] != 0.0, h[H.form] == 0.0
    L = n_segments(h, H.layers)
    ratio = np.ones(L)
    partials = np.empty((n_blocks(0, theta.size), 3))  # one buffer for every layer's blocks
    bad = 0
    for k in range(L):
        lo, hi, decay, trust = segment(h, H.layers, theta.size, k)
        wd = h[H.weight_decay] if decay else 0.0
        s_g = np.nan  # not summed: a check counts this layer
        if trust:
            sums = partials[: n_blocks(lo, hi)]
            if parallel:
                _norms_parallel(theta, g, lo, hi, wd, sums)
            else:
                _norms_serial(theta, g, lo, hi, wd, sums)
            s_theta, s_g, s_u = ordered_sum(sums, 0), ordered_sum(sums, 1), ordered_sum(sums, 2)
            norm_theta = np.sqrt(s_theta)
            den = np.sqrt(s_g) + wd * norm_theta if paper else np.sqrt(s_u)
            ratio[k] = trust_ratio(h[H.trust_coefficient], norm_theta, den, h[H.eps])
        if check and not np.isfinite(s_g):
            bad += nonfinite_entries(g[lo:hi], h[h.size - 1])
    if bad:
        return bad
    c[COUNTER.t] += 1.0
    for k in range(L):
        lo, hi, decay, trust = segment(h, H.layers, theta.size, k)
        wd = h[H.weight_decay] if decay else 0.0
        if parallel:
            _update_parallel(theta, g, S[0], lo, hi, wd, h[H.eta] * ratio[k], h[H.gamma], nesterov)
        else:
            _update_serial(theta, g, S[0], lo, hi, wd, h[H.eta] * ratio[k], h[H.gamma], nesterov)
    return 0


@jit
def lars_step(theta, g, S, h, c):
    lars_run(theta, g, S, h, c, False)


@jit
def lars_checked_step(theta, g, S, h, c):
    """The default step: ``lars_step`` with the finite check in its norms' pass (see ``lars_run``)."""
    return lars_run(theta, g, S, h, c, True)


class LARS(LayerwiseOptimizer, Optimizer):
    """LARS: v_t = γ v_{t−1} + η r_t (g_t + λ θ_{t−1}), θ_t = θ_{t−1} − v_t, r_t = c ‖θ_l‖ / (‖g_l‖ + λ ‖θ_l‖ + ε) per layer.

    Parameters
    ----------
    eta : float
        Global learning rate η > 0 (1.0). Before momentum, layer l moves by
        η c ‖θ_l‖ / (‖g_l‖ + λ‖θ_l‖) times g_l + λθ_l: a length of about η c ‖θ_l‖,
        so η is of order 1, not 0.01.
    gamma : float
        Momentum term γ in [0, 1) (0.9).
    weight_decay : float
        λ >= 0 (0), added to the gradient (L2 regularisation) in layers whose
        decay flag is on, before the trust ratio.
    trust_coefficient : float
        c > 0 (0.001, optax's default; You et al. used 0.001).
    eps : float
        ε >= 0 (0) in the trust ratio's denominator.
    nesterov : bool
        False (default): the update above. True: θ_t = θ_{t−1} − η r_t u_t − γ v_t.
    form : {"paper", "optax"}
        "paper" (default): r_t's denominator is ‖g_l‖ + λ‖θ_l‖ + ε (You et al.'s
        Algorithm 1). "optax": ‖g_l + λθ_l‖ + ε, as ``optax.lars``.
    layers : gdlib.Layers or None
        The segments of θ (e.g. ``model.layers()``); None treats θ as one layer.
        r_t = 1 where a layer's trust flag is off, and where ‖θ_l‖ or the
        denominator's norm is 0.

    State: ``v`` (v_t = −optax's trace).
    """

    hypers = HYPERS
    state_names = ("v",)
    _packed_step = staticmethod(lars_step)
    _packed_checked_step = staticmethod(lars_checked_step)
