"""Small test objectives with compiled gradients ``gradient(x, out)``."""

import numba
import numpy as np

# Ill-conditioned convex quadratic J(x) = ½ Σ a_i x_i², a = (1, 10): a ravine.
QUAD_CURVATURE = np.array([1.0, 10.0])


@numba.njit(cache=True)
def quadratic_gradient(x, out):
    out[0] = x[0]
    out[1] = 10.0 * x[1]


@numba.njit(cache=True)
def tiled_quadratic_gradient(x, out):
    """The quadratic above repeated along θ (curvatures 1, 10, 1, 10, ...): any even size."""
    for i in range(x.size):
        out[i] = x[i] if i % 2 == 0 else 10.0 * x[i]


def quadratic_value(x):
    return 0.5 * float(np.sum(QUAD_CURVATURE * np.asarray(x, dtype=np.float64) ** 2))


# Rosenbrock J(x, y) = (1 − x)² + 100 (y − x²)², minimum at (1, 1).
@numba.njit(cache=True)
def rosenbrock_gradient(x, out):
    a = x[0]
    b = x[1]
    out[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a)
    out[1] = 200.0 * (b - a * a)


def quadratic_gradient_numpy(x):
    return (QUAD_CURVATURE * x).astype(x.dtype)


def rosenbrock_gradient_numpy(x):
    a, b = x
    return np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], dtype=x.dtype)
