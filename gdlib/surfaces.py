"""Test surfaces with analytic gradients, for trajectories and contour plots.

Each :class:`Surface` carries

* ``value(x, y)``: the objective written with plain arithmetic, so the same
  definition evaluates a scalar inside compiled code and a whole grid of
  NumPy arrays for a contour plot (``surface.grid``);
* ``gradient(x, out)``: a compiled function writing ∇J(x) into ``out``, the
  form :func:`gdlib.run_compiled` and :func:`gdlib.trajectory` take;
* its known minima, a standard start, a plotting window and a reference.

Two surfaces also exist in any dimension (``ravine_nd``, ``rosenbrock_nd``),
for the n-D convergence tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._numba import jit


@dataclass(frozen=True)
class Surface:
    """A 2-D objective J(x, y) with its gradient and what is known about it."""

    name: str
    value: object  # compiled scalar function value(x, y); ``value.py_func`` takes arrays
    gradient: object  # compiled gradient(x, out) on 1-D arrays of length 2
    minima: tuple  # ((x, y), ...) global minimizers; empty if J is unbounded below
    minimum_value: float  # J at the minima (nan if unbounded)
    start: tuple  # a standard starting point
    window: tuple  # ((xmin, xmax), (ymin, ymax)) for plots
    reference: str  # BibTeX key in the book's bibliography
    description: str
    local_minima: tuple = field(default=())  # further local minimizers, if any

    def __call__(self, x, y):
        """J at scalars or arrays (NumPy broadcasting); inf where a diverged path overflows."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.value.py_func(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def grid(self, n=200, window=None):
        """(X, Y, Z) on an n-by-n grid over ``window`` (default: the surface's)."""
        (x0, x1), (y0, y1) = window or self.window
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self(X, Y)

    def values_along(self, path):
        """J at every row of a trajectory of shape (steps, 2)."""
        path = np.asarray(path, dtype=float)
        return self(path[:, 0], path[:, 1])

    def gradient_at(self, point):
        """∇J at one point, as a new float64 array (convenient in notebooks)."""
        x = np.ascontiguousarray(point, dtype=np.float64)
        out = np.empty(2)
        self.gradient(x, out)
        return out


# --------------------------------------------------------------- the ravine
# J = ½ (x² + 20 y²): curvature 20 times steeper across than along the valley.
RAVINE_CURVATURE = 20.0


@jit
def ravine_value(x, y):
    return 0.5 * (x * x + 20.0 * y * y)


@jit
def ravine_gradient(p, out):
    out[0] = p[0]
    out[1] = 20.0 * p[1]


# ---------------------------------------------------------------- Rosenbrock
@jit
def rosenbrock_value(x, y):
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


@jit
def rosenbrock_gradient(p, out):
    x, y = p[0], p[1]
    out[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x)
    out[1] = 200.0 * (y - x * x)


# --------------------------------------------------------------------- Beale
@jit
def beale_value(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2


@jit
def beale_gradient(p, out):
    x, y = p[0], p[1]
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y * y
    c = 2.625 - x + x * y * y * y
    out[0] = 2.0 * (a * (y - 1.0) + b * (y * y - 1.0) + c * (y * y * y - 1.0))
    out[1] = 2.0 * x * (a + 2.0 * b * y + 3.0 * c * y * y)


# -------------------------------------------------------------------- saddle
@jit
def saddle_value(x, y):
    return x * x - y * y


@jit
def saddle_gradient(p, out):
    out[0] = 2.0 * p[0]
    out[1] = -2.0 * p[1]


# ---------------------------------------------------------------- Himmelblau
@jit
def himmelblau_value(x, y):
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


@jit
def himmelblau_gradient(p, out):
    x, y = p[0], p[1]
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    out[0] = 4.0 * x * a + 2.0 * b
    out[1] = 2.0 * a + 4.0 * y * b


RAVINE = Surface(
    "ravine", ravine_value, ravine_gradient, ((0.0, 0.0),), 0.0, (-9.0, 1.5), ((-10, 2), (-2, 2)),
    "sutton1986two",
    "An ill-conditioned quadratic valley, J = ½(x² + 20y²): plain gradient descent "
    "oscillates across it and creeps along it.",
)
ROSENBROCK = Surface(
    "rosenbrock", rosenbrock_value, rosenbrock_gradient, ((1.0, 1.0),), 0.0, (-1.2, 1.0), ((-2, 2), (-1, 3)),
    "rosenbrock1960automatic",
    "A curved, flat-bottomed valley, J = (1 − x)² + 100(y − x²)²; the minimum (1, 1) lies at its end.",
)
BEALE = Surface(
    "beale", beale_value, beale_gradient, ((3.0, 0.5),), 0.0, (1.0, 1.5), ((-4.5, 4.5), (-4.5, 4.5)),
    "beale1958iterative",
    "Beale's function, the surface of the seed's Image 5: flat plateaus and sharp ridges around a "
    "minimum at (3, 0.5).",
)
SADDLE = Surface(
    "saddle", saddle_value, saddle_gradient, (), float("nan"), (-1.0, 1e-3), ((-1.5, 1.5), (-1.5, 1.5)),
    "dauphin2014identifying",
    "The saddle J = x² − y² of the seed's Image 6: downhill only along y, with a gradient that "
    "vanishes at the origin.",
)
HIMMELBLAU = Surface(
    "himmelblau", himmelblau_value, himmelblau_gradient,
    ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)), 0.0,
    (0.0, 0.0), ((-5, 5), (-5, 5)), "himmelblau1972applied",
    "Himmelblau's function: four minima of equal depth, so where an optimizer ends up depends on "
    "its start and its path.",
)

#: Every 2-D surface, by name.
SURFACES = {s.name: s for s in (RAVINE, ROSENBROCK, BEALE, SADDLE, HIMMELBLAU)}


# ---------------------------------------------------------------- n-D forms
@jit
def ravine_nd_value(x):
    """J(x) = ½ Σ_i a_i x_i², a_i = 20^{i/(n−1)}: curvatures from 1 to 20."""
    n = x.size
    total = 0.0
    for i in range(n):
        a = 20.0 ** (i / (n - 1)) if n > 1 else 1.0
        total += 0.5 * a * x[i] * x[i]
    return total


@jit
def ravine_nd_gradient(x, out):
    n = x.size
    for i in range(n):
        a = 20.0 ** (i / (n - 1)) if n > 1 else 1.0
        out[i] = a * x[i]


@jit
def rosenbrock_nd_value(x):
    """J(x) = Σ_{i<n−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum at (1, …, 1)."""
    total = 0.0
    for i in range(x.size - 1):
        total += 100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2
    return total


@jit
def rosenbrock_nd_gradient(x, out):
    n = x.size
    out[:] = 0.0
    for i in range(n - 1):
        d = x[i + 1] - x[i] * x[i]
        out[i] += -400.0 * x[i] * d - 2.0 * (1.0 - x[i])
        out[i + 1] += 200.0 * d
