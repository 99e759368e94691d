"""The whole path of an optimizer on a 2-D surface, in one compiled call."""

from __future__ import annotations

import numba
import numpy as np

from ._numba import jit_template
from .optim.loop import run_compiled
from .surfaces import SURFACES, Surface


def _values_template(path, out):
    for i in range(path.shape[0]):
        out[i] = _value(path[i, 0], path[i, 1])  # noqa: F821 (the global given by _values_along)


_VALUES = {}


def _values_along(surface, path):
    """``surface.values_along(path)`` in one compiled loop over the surface's
    compiled J (the same arithmetic as its NumPy form, without an array
    temporary per operation), where J's machine code is cached."""
    value = surface.value
    if isinstance(getattr(value, "_cache", None), numba.core.caching.NullCache) or not hasattr(value, "py_func"):
        return surface.values_along(path)
    if value not in _VALUES:
        _VALUES[value] = jit_template(_values_template, value, "_along", _value=value)
    path = np.ascontiguousarray(path, dtype=np.float64)
    out = np.empty(path.shape[0])
    _VALUES[value](path, out)
    return out


def trajectory(optimizer, surface, start=None, n_steps=1000, *, dtype=np.float64, eta_schedule=None,
               specialise=False):
    """Run ``optimizer`` on ``surface`` from ``start`` (default: the surface's standard start).

    Returns a :class:`gdlib.optim.RunResult` whose ``trajectory`` holds the
    n_steps + 1 points visited (fewer if the run diverged) and whose ``values``
    holds J at each of them. Nesterov's seed form takes its gradients at the
    look-ahead point, as its update rule says. ``specialise=True`` compiles
    the run for this optimizer and surface (see :func:`gdlib.run_compiled`):
    the same path, faster per step, seconds of compilation per new pair.
    """
    if isinstance(surface, str):
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
        surface = SURFACES[surface]
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a gdlib.surfaces.Surface or its name, got {type(surface).__name__}")
    start = surface.start if start is None else start
    point = np.asarray(start, dtype=dtype)
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"start must be two finite coordinates (x, y), got {start!r}")
    result = run_compiled(optimizer, surface.gradient, point, n_steps, eta_schedule=eta_schedule,
                          specialise=specialise)
    result.values = _values_along(surface, result.trajectory)
    result.surface = surface
    return result
