"""Sums of squares and Euclidean norms: blocked, in a fixed order, safe from overflow.

Three places need the norm ‖x‖ = √(Σ_i x_i²) of a long vector: clipping by
the global norm (:mod:`gdlib.clipping`) and the trust ratios of LARS and
LAMB (one norm per layer). They share this module, for two properties:

* **One order of the sum.** x is cut into fixed blocks of
  ``REDUCTION_BLOCK`` elements (:func:`block`); each block is summed by a
  loop LLVM may split into SIMD lanes (``jit(reduction=True)``), and the
  blocks' sums are added in block order (:func:`ordered_sum`). The parallel
  twin sums the blocks on Numba's threads, the serial path adds each block's
  sum as soon as it has it: the same additions in the same order, so the
  result is the same bits serial or parallel, on any number of threads,
  from Python or inside a compiled loop (see ``gdlib._numba``).
* **No overflow, no underflow.** The squares are summed in float64; for
  float64 entries above about 1.3·10^154 a square overflows to inf, below
  about 1.5·10^-154 it loses digits, below 10^-162 it is 0, although the norm
  itself is representable. The fast sum stays as it is; only when it is inf
  (every entry finite) or below ``LOW`` = tiny/eps, where it is no longer
  accurate (a zero x included), is the norm recomputed from scaled entries,
  ‖x‖ = √(Σ (s x_i)²) / s, as BLAS's ``nrm2`` does. The scale s is not
  max|x_i| (that would take one more pass) but a fixed power of two, as in
  the reference BLAS's nrm2 since LAPACK 3.10 (Blue's scaling constants,
  Anderson 2017): s = 2^-600 after an overflow, 2^600 below ``LOW``; either
  is exact and keeps every square in range (:func:`rescaled`). That costs one
  more pass over x, in index order (deterministic as well, about 0.9 ns an
  element here, 10x the fast sum), and only for such extreme or all-zero
  vectors. A NaN or ±inf entry keeps a NaN or inf norm (the finite checks
  rely on it).

float32 entries are squared in float64, where neither their squares nor
their sums can overflow; the rescue then only serves their all-zero case.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._numba import REDUCTION_BLOCK, inline, jit, jit_template, twins

#: Below this the float64 sum of squares may have lost digits to underflow
#: (each square is exact to 2^-1074, an absolute error that is then below
#: eps relative to the sum): ``finfo.tiny / finfo.eps``, about 1.0e-292.
LOW = float(np.finfo(np.float64).tiny / np.finfo(np.float64).eps)


@jit
def n_blocks(lo, hi):
    """How many blocks of ``REDUCTION_BLOCK`` elements cover [lo:hi] (the last may be shorter)."""
    return (hi - lo + REDUCTION_BLOCK - 1) // REDUCTION_BLOCK


@jit
def block(lo, hi, b):
    """[start:stop] of block b of [lo:hi]: the same blocks in the serial and parallel twins."""
    start = lo + b * REDUCTION_BLOCK
    return start, min(start + REDUCTION_BLOCK, hi)


@jit
def ordered_sum(partials, j):
    """Column j of the blocks' partial sums, added in block order (the serial
    paths add each block's sum to a running total in the same order)."""
    total = 0.0
    for b in range(partials.shape[0]):
        total += partials[b, j]
    return total


@inline
def rescue_scale(total):
    """0 if the fast sum of squares ``total`` is right (NaN included: a NaN
    entry's norm stays NaN), else the scale its rescue multiplies the entries
    by: ``SHRINK`` if it overflowed to inf, ``GROW`` if it is below ``LOW`` (0 included)."""
    if total == np.inf:
        return SHRINK
    if total < LOW:
        return GROW
    return 0.0


@jit
def combination(i, x, y, lam):
    """x_i + λ y_i in x's dtype (``lam`` in that dtype), LARS's u = g + λθ; x_i itself where λ = 0
    (so that an infinite x_i has an infinite norm, not the NaN of ∞ + 0·∞)."""
    if lam == 0:
        return x[i]
    return x[i] + lam * y[i]


#: The rescue's scales, exact powers of two: 2^-600 brings any finite entry's
#: square below 2^848 (no overflow), 2^600 brings the entries of a sum below
#: ``LOW`` (all below 2^-485) up from 2^-1074 to at least 2^-474, whose square
#: is a normal float, and below 2^115 (no overflow).
SHRINK, GROW = 2.0**-600, 2.0**600


def _rescaled_template(n, scale, *args):
    # ‖(e_0, …, e_{n−1})‖ with e_i = _entry(i, *args), as √(Σ (s e_i)²) / s, summed in index order,
    # one chain of additions. (Four running sums by i mod 4 were 3x faster, but a step inlined in a
    # specialised loop then differed in its last bit from the same step called from Python: not
    # understood, so not used.)
    total = 0.0
    for i in range(n):
        a = np.float64(_entry(i, *args)) * scale  # noqa: F821 (a global of the compiled copy, see rescaled)
        total += a * a
    return np.sqrt(total) / scale


def rescaled(entry):
    """Compile the rescue for one kind of entry: ``norm(n, scale, *args)`` is
    the norm of the n values ``entry(i, *args)`` (a ``jit`` function: Numba
    cannot pass *args to an always-inlined one), each multiplied by ``scale``
    (``SHRINK`` or ``GROW``, see ``rescue_scale``) before squaring, the root
    divided by it: exact scalings. One pass, in index order, without
    ``reassoc``: the same bits wherever it runs."""
    return jit_template(_rescaled_template, entry, "_rescaled", _entry=entry, np=np)


rescaled_combination = rescaled(combination)


@jit(reduction=True)
def block_sum_of_squares(x):
    """Σ x_i² over one block, each x_i squared in float64 (Numba's ``float()``
    would keep a float32 a float32), summed in SIMD lanes (``jit(reduction=True)``)."""
    total = 0.0
    for i in range(x.size):
        s = np.float64(x[i])
        total += s * s
    return total


@twins
def block_sums_of_squares(x, out):
    """out[b, 0] = Σ x_i² over block b of x: every block on Numba's threads in the parallel twin."""
    for b in prange(out.shape[0]):
        start, stop = block(0, x.size, b)
        out[b, 0] = block_sum_of_squares(x[start:stop])


_block_sums_parallel = block_sums_of_squares.parallel


@jit
def sum_of_squares(x, min_size):
    """Σ x_i² in float64, block by block, the blocks' sums added in order; the
    blocks on several threads from ``min_size`` elements, with the same result."""
    nb = n_blocks(0, x.size)
    if x.size < min_size:
        total = 0.0
        for b in range(nb):
            start, stop = block(0, x.size, b)
            total += block_sum_of_squares(x[start:stop])
        return total
    partials = np.empty((nb, 1))  # a few bytes per 2048 elements, only on the parallel path
    _block_sums_parallel(x, partials)
    return ordered_sum(partials, 0)


@jit
def norm_from(total, x, y, lam):
    """‖x + λy‖ given its fast sum of squares ``total`` (``lam`` in x's dtype):
    √total, unless ``rescue_scale(total)`` asks for a rescue by ``rescaled_combination``."""
    scale = rescue_scale(total)
    if scale != 0.0:
        return rescaled_combination(x.size, scale, x, y, lam)
    return np.sqrt(total)


@jit
def norm(x, min_size):
    """‖x‖ = √(Σ x_i²) of a 1-D array: blocked and ordered (``sum_of_squares``),
    rescaled where the squares overflow or underflow (``norm_from``)."""
    return norm_from(sum_of_squares(x, min_size), x, x, x.dtype.type(0.0))
