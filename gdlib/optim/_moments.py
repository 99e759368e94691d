"""Element-wise building blocks shared by the optimizer family.

Every adaptive method in the course is assembled from three pieces, and the
kernels call these helpers so that the family tree stays visible:

* an exponential moving average, ``ema(prev, x, beta)`` = beta * prev + (1 - beta) * x,
  used for m_t (Momentum-like), v_t and E[g^2]_t (RMSprop-like), E[Δθ^2]_t;
* a root-mean-square denominator with epsilon either inside the square root,
  sqrt(s + eps) (Ruder's Adagrad, Adadelta, RMSprop; You's slides everywhere),
  or outside it, sqrt(s) + eps (Ruder's Adam family, PyTorch's defaults);
* a division that defines 0 / 0 as 0. Every denominator here is zero only
  where every gradient seen so far was exactly zero, so its numerator is zero
  too and "no gradient, no step" is the limit of the update rule. With
  eps > 0 the guard never fires and the seed equations hold exactly.

The helpers are compiled with ``inline="always"``: inside a kernel's loop
they cost nothing, and the loop still vectorises.
"""

from __future__ import annotations

import numpy as np

from .._numba import inline


@inline
def ema(prev, x, beta, one_minus_beta):
    """beta * prev + (1 - beta) * x, with (1 - beta) precomputed by the caller."""
    return beta * prev + one_minus_beta * x


@inline
def rms(s, eps, eps_inside_sqrt):
    """sqrt(s + eps) if ``eps_inside_sqrt`` else sqrt(s) + eps."""
    if eps_inside_sqrt:
        return np.sqrt(s + eps)
    return np.sqrt(s) + eps


@inline
def ratio_or_zero(num, den):
    """num / den, or 0 where den == 0 (see the module docstring).

    The zero is ``num * den`` (den is 0 there), so both branches keep num's
    dtype: ``num * 0`` promoted a float32 num to float64 (Numba types an
    integer literal as int64), and the whole step θ − step · ratio was then
    computed in float64 and rounded back, at twice the SIMD cost."""
    if den == 0:
        return num * den
    return num / den
