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
from ..norms import block, n_blocks, norm_from, ordered_sum
from .layers import LAYERS, LayerwiseOptimizer, n_segments, segment

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


@jit(parallel=True)
def lars_norms(theta, g, lo, hi, wd, out):
    """out[b] = (‖θ‖², ‖g‖², ‖g + λθ‖²) over block b of θ[lo:hi] (``gdlib.norms.block``), on Numba's threads."""
    lam = theta.dtype.type(wd)
    for b in prange(out.shape[0]):
        start, stop = block(lo, hi, b)
        out[b, 0], out[b, 1], out[b, 2] = lars_block_sums(theta[start:stop], g[start:stop], lam)


@jit
def lars_sums(theta, g, lo, hi, wd, parallel):
    """(Σθ², Σg², Σ(g + λθ)²) over θ[lo:hi], block by block, the blocks' sums
    added in order (``gdlib.norms``): on Numba's threads if ``parallel``
    (``lars_norms``), else one block after the other without a buffer; the
    same bits either way (``tests/test_twins.py``, ``tests/test_lars_lamb.py``)."""
    if parallel:
        partials = np.empty((n_blocks(lo, hi), 3))  # only on the parallel path (a large layer): 24 bytes a block
        lars_norms(theta, g, lo, hi, wd, partials)
        return ordered_sum(partials, 0), ordered_sum(partials, 1), ordered_sum(partials, 2)
    lam = theta.dtype.type(wd)
    s_theta, s_g, s_u = 0.0, 0.0, 0.0
    for b in range(n_blocks(lo, hi)):
        start, stop = block(lo, hi, b)
        a, c, d = lars_block_sums(theta[start:stop], g[start:stop], lam)
        s_theta += a
        s_g += c
        s_u += d
    return s_theta, s_g, s_u


@jit
def lars_layer_norms(theta, g, lo, hi, wd, parallel, paper):
    """(‖θ_l‖, the trust ratio's denominator without ε, Σg² as summed) for θ_l = θ[lo:hi].

    The denominator is ‖g_l‖ + λ‖θ_l‖ (``paper``) or ‖g_l + λθ_l‖. Each norm
    is √ of its fast sum (``lars_sums``) unless that sum overflowed or
    underflowed, then rescaled (``gdlib.norms.norm_from``): a layer of θ ~ 10^200
    or g ~ 10^-200 has its true norms. Σg² is returned for the finite check.
    """
    s_theta, s_g, s_u = lars_sums(theta, g, lo, hi, wd, parallel)
    T = theta.dtype.type
    zero = T(0.0)
    th, gl = theta[lo:hi], g[lo:hi]
    norm_theta = norm_from(s_theta, th, th, zero)
    if paper:
        return norm_theta, norm_from(s_g, gl, gl, zero) + wd * norm_theta, s_g
    return norm_theta, norm_from(s_u, gl, th, T(wd)), s_g


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


@jit
def trust_ratio(c, norm_theta, norm_den, eps):
    """c ‖θ‖ / (norm_den + ε), or 1 where either norm is 0 (optax's convention)."""
    if norm_theta == 0.0 or norm_den == 0.0:
        return 1.0
    return c * norm_theta / (norm_den + eps)


@jit
def lars_layer_ratio(theta, g, h, k):
    """(lo, hi, λ, r_t, Σg²) of layer k: its bounds, its λ (0 where its decay
    flag is off), its trust ratio (1 where its trust flag is off) and the Σg²
    of its norms' pass (NaN where there was none). The norms' pass picks its
    twin by the layer's size: a bias never starts threads."""
    lo, hi, decay, trust = segment(h, H.layers, theta.size, k)
    wd = h[H.weight_decay] if decay else 0.0
    if not trust:
        return lo, hi, wd, 1.0, np.nan
    norm_theta, den, s_g = lars_layer_norms(theta, g, lo, hi, wd, use_parallel(hi - lo, h), h[H.form] == 0.0)
    return lo, hi, wd, trust_ratio(h[H.trust_coefficient], norm_theta, den, h[H.eps]), s_g


@jit
def lars_layer_update(theta, g, S, h, lo, hi, wd, ratio):
    """``lars_update`` on layer [lo:hi] with scale η r_t, on the twin θ's size picks."""
    if use_parallel(theta.size, h):
        _update_parallel(theta, g, S[0], lo, hi, wd, h[H.eta] * ratio, h[H.gamma], h[H.nesterov] != 0.0)
    else:
        _update_serial(theta, g, S[0], lo, hi, wd, h[H.eta] * ratio, h[H.gamma], h[H.nesterov] != 0.0)


@jit
def lars_step(theta, g, S, h, c):
    """Layer by layer: the trust ratio (its norms read θ_l and g_l), then the
    update of that layer: the step of the compiled loops. It allocates no ratio vector;
    a layer at or above the parallel threshold still allocates its blocks' partial sums."""
    c[COUNTER.t] += 1.0
    for k in range(n_segments(h, H.layers)):
        lo, hi, wd, ratio, _ = lars_layer_ratio(theta, g, h, k)
        lars_layer_update(theta, g, S, h, lo, hi, wd, ratio)


@jit
def lars_checked_step(theta, g, S, h, c):
    """The default step, with the finite check in its norms' pass: every
    layer's trust ratio first (a layer whose Σg² is finite has a finite g_l,
    since a NaN or ±inf makes the sum NaN or inf; only a layer whose sum is
    not finite, or that has no norms' pass, is counted entry by entry), then,
    only if g has no NaN or infinite entry, every layer's update. Returns the
    number of such entries. The ratios wait in a vector of one float per layer."""
    L = n_segments(h, H.layers)
    ratio = np.empty(L)
    bad = 0
    for k in range(L):
        lo, hi, _, ratio[k], s_g = lars_layer_ratio(theta, g, h, k)
        if not np.isfinite(s_g):
            bad += nonfinite_entries(g[lo:hi], h[h.size - 1])
    if bad:
        return bad
    c[COUNTER.t] += 1.0
    for k in range(L):
        lo, hi, decay, _ = segment(h, H.layers, theta.size, k)
        lars_layer_update(theta, g, S, h, lo, hi, h[H.weight_decay] if decay else 0.0, ratio[k])
    return 0


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
