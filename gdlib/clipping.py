"""Gradient clipping, by value and by global norm (Pascanu et al., 2013).

Where the loss has a cliff, the gradient on its face is huge and one step of
η·g throws the parameters far away. Clipping bounds the step without changing
where it points (by norm) or nearly so (by value):

* by value: every component g_i ← max(−c, min(g_i, c));
* by global norm: with ‖g‖ the Euclidean norm of the whole gradient (all
  layers together), g ← (τ / ‖g‖) g when ‖g‖ ≥ τ, and g unchanged otherwise.
  That is Pascanu et al.'s rule, gdlib's default (``eps=0``). PyTorch's
  ``clip_grad_norm_`` multiplies by min(τ / (‖g‖ + 10⁻⁶), 1) instead: pass
  ``eps=1e-6`` for its numbers (a clipped gradient's norm is then
  τ·‖g‖/(‖g‖ + 10⁻⁶), a hair under τ).

The functions take one array or a list of arrays (one per layer; the global
norm runs over all of them, as PyTorch's does over all parameters) and return
clipped copies. :func:`gdlib.train` takes ``clip=ByValue(c)`` or
``clip=ByGlobalNorm(τ)`` and clips every mini-batch gradient inside its
compiled loop with the same kernels.

Each kernel has a serial and a parallel twin (``gdlib._numba.twins``); an
array of at least ``parallel_min_size()`` elements (``GDLIB_PARALLEL_MIN_SIZE``,
read when a function is called or a ByValue/ByGlobalNorm is created) takes
the parallel one. The norm is gdlib's one norm (``gdlib.norms.norm``,
also LARS's and LAMB's): fixed blocks added in order, so the same bits on
either twin and any number of threads, and rescaled where the squares
overflow or underflow (a gradient of 10^200 has its norm, not inf).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import _checks
from ._numba import jit, parallel_min_size, twins
from .norms import norm as vector_norm

NO_CLIP, BY_VALUE, BY_NORM = 0, 1, 2


@twins
def clip_value_kernel(g, c):
    """g_i ← max(−c, min(g_i, c)), in place."""
    for i in prange(g.size):
        if g[i] > c:
            g[i] = c
        elif g[i] < -c:
            g[i] = -c


@twins
def scale_kernel(g, factor):
    """g ← factor · g, in place."""
    for i in prange(g.size):
        g[i] *= factor


_clip_value = clip_value_kernel.dispatch
_scale = scale_kernel.dispatch


@jit
def clip_kernel(kind, params, g):
    """The clipping of :func:`gdlib.train`'s loop: ``kind`` and ``params`` from a ByValue/ByGlobalNorm.

    ``params`` = (c or τ, 0 or eps, parallel threshold): the twins run in parallel from that many elements.
    """
    if kind == BY_VALUE:
        _clip_value(params, g, params[0])
    elif kind == BY_NORM:
        factor = params[0] / (vector_norm(g, params[params.size - 1]) + params[1])  # min(τ / (‖g‖ + eps), 1)
        if factor < 1.0:
            _scale(params, g, factor)


def _layers(grads, name):
    single = isinstance(grads, np.ndarray)
    layers = [grads] if single else list(grads) if isinstance(grads, (list, tuple)) else None
    if not layers:
        raise TypeError(f"{name} must be a NumPy array or a non-empty list of arrays (one per layer), "
                        f"got {type(grads).__name__}")
    for i, g in enumerate(layers):
        _checks.float_array(g, name if single else f"{name}[{i}]")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{name} holds NaN or infinite values; clipping cannot repair a non-finite "
                             "gradient: find the step that overflowed (a smaller η, or clip earlier)")
    return single, [np.array(g, order="C", copy=True) for g in layers]


def clip_by_value(grads, c):
    """Copies of ``grads`` (an array or a list of arrays) with every component in [−c, c].

    PyTorch: ``torch.nn.utils.clip_grad_value_(params, c)`` (in place).
    """
    c = _checks.positive(c, "c")
    single, layers = _layers(grads, "grads")
    threshold = np.array([float(parallel_min_size())])  # the twins' h: its last entry is the threshold
    for g in layers:
        _clip_value(threshold, g.reshape(-1), c)
    return layers[0] if single else layers


def _norm(layers):
    min_size = parallel_min_size()
    norms = [vector_norm(g.reshape(-1), min_size) for g in layers]
    return float(norms[0]) if len(norms) == 1 else float(vector_norm(np.array(norms), min_size))  # √(Σ_l ‖g_l‖²)


def global_norm(grads):
    """‖g‖ over all layers: √(Σ_l ‖g_l‖²)."""
    return _norm(_layers(grads, "grads")[1])


def clip_by_global_norm(grads, max_norm, *, eps=0.0):
    """(clipped copies of ``grads``, ‖g‖ before clipping), with g ← min(τ/(‖g‖ + eps), 1) g.

    ``eps=0`` (default) is Pascanu et al.'s rule; ``eps=1e-6`` is PyTorch's
    ``clip_grad_norm_(params, max_norm)``, which returns the same norm.
    """
    max_norm = _checks.positive(max_norm, "max_norm")
    eps = _checks.non_negative(eps, "eps")
    single, layers = _layers(grads, "grads")
    norm = _norm(layers)
    factor = max_norm / (norm + eps)
    if factor < 1.0:
        for g in layers:
            g *= factor
    return (layers[0] if single else layers), norm


class ByValue:
    """``gdlib.train(clip=ByValue(c))``: clip every gradient component to [−c, c]."""

    kind = BY_VALUE

    def __init__(self, c):
        self.c = _checks.positive(c, "c")
        self.params = np.array([self.c, 0.0, parallel_min_size()], dtype=np.float64)

    def __repr__(self):
        return f"ByValue(c={self.c})"


class ByGlobalNorm:
    """``gdlib.train(clip=ByGlobalNorm(max_norm))``: rescale a gradient longer than ``max_norm``."""

    kind = BY_NORM

    def __init__(self, max_norm, eps=0.0):
        self.max_norm = _checks.positive(max_norm, "max_norm")
        self.eps = _checks.non_negative(eps, "eps")
        self.params = np.array([self.max_norm, self.eps, parallel_min_size()], dtype=np.float64)

    def __repr__(self):
        return f"ByGlobalNorm(max_norm={self.max_norm}, eps={self.eps})"
