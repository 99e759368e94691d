"""A glimpse of second order: Newton's method, with the Hessians of the book's surfaces.

Newton's step solves the local quadratic model of J exactly:

    (H_t + νI) p_t = −g_t,     θ_t = θ_{t−1} + α_t p_t,

with g_t = ∇J(θ_{t−1}), H_t = ∇²J(θ_{t−1}), ν = ``damping`` (0: the pure method;
ν > 0 blends towards a gradient step of size 1/ν, Levenberg–Marquardt) and
α_t = 1, or the largest of 1, ½, ¼, … that decreases J enough (Armijo's
condition, ``line_search=True`` with ``f``).

The pure method is affine invariant, and so is the line search, which uses only
values of J and g_tᵀp_t, both unchanged by θ = Az + b; damping is not (νI is
not Aᵀ(νI)A): minimizing J̃(z) = J(Az + b) from
z₀ = A⁻¹(θ₀ − b) visits exactly z_t = A⁻¹(θ_t − b) (:func:`transformed` builds
J̃'s gradient and Hessian); gradient descent is not, which is why a badly
scaled problem hurts it and not Newton. The price: d² numbers for the Hessian
and about d³/3 operations to factorise it, every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks


class SingularHessianError(ValueError):
    """Newton's linear system has no unique solution at this point."""


@dataclass
class NewtonResult:
    theta: np.ndarray
    trajectory: np.ndarray  # every iterate, θ_0 first
    iterations: int  # Newton steps taken
    evaluations: int  # calls of grad_hess (each one gradient and one Hessian)
    status: str  # "converged" (‖∇J‖ ≤ tol) or "max_steps"


def _evaluate(grad_hess, theta):
    out = grad_hess(theta.copy())
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError("grad_hess(theta) must return a pair (gradient, Hessian)")
    g, H = np.asarray(out[0], dtype=np.float64), np.asarray(out[1], dtype=np.float64)
    d = theta.size
    if g.shape != (d,) or H.shape != (d, d):
        raise ValueError(f"grad_hess returned shapes {g.shape} and {H.shape}; expected ({d},) and ({d}, {d})")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        raise ValueError(f"the gradient or Hessian is not finite at θ = {theta}: the iterates have left "
                         "the region where J is defined; add damping or a line search")
    return g, H


def newton(grad_hess, theta0, *, steps=50, tol=1e-10, damping=0.0, line_search=False, f=None):
    """Minimize with Newton's method from ``theta0``; see the module docstring.

    ``grad_hess(θ)`` returns (∇J(θ), ∇²J(θ)). Stops when ‖∇J‖ ≤ ``tol`` or after ``steps``
    steps. Raises :class:`SingularHessianError` when ∇²J + νI cannot be solved reliably.
    """
    _checks.float_array(theta0, "theta0")
    if theta0.ndim != 1 or not np.all(np.isfinite(theta0)):
        raise ValueError(f"theta0 must be a finite 1-D array, got shape {theta0.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    tol, damping = _checks.non_negative(tol, "tol"), _checks.non_negative(damping, "damping")
    line_search = _checks.flag(line_search, "line_search")
    if line_search and not callable(f):
        raise TypeError("line_search=True needs f=, the objective J(θ), to test the decrease")
    theta = np.array(theta0, dtype=np.float64)
    path, evaluations, status = [theta.copy()], 0, "max_steps"
    for _ in range(int(steps) + 1):
        g, H = _evaluate(grad_hess, theta)
        evaluations += 1
        if np.linalg.norm(g) <= tol:
            status = "converged"
            break
        if len(path) > steps:
            break
        A = H + damping * np.eye(theta.size)
        if np.linalg.cond(A) * np.finfo(np.float64).eps >= 1.0:
            raise SingularHessianError(
                f"the Hessian{' + damping·I' if damping else ''} is singular at θ = {theta} "
                f"(condition number {np.linalg.cond(A):.3g}): Newton's step is undefined there; "
                "pass damping > 0 (Levenberg–Marquardt) or start elsewhere")
        p = np.linalg.solve(A, -g)
        alpha = 1.0
        if line_search:
            slope = float(g @ p)
            if slope >= 0:
                raise ValueError(f"Newton's direction goes uphill at θ = {theta} (the Hessian is not positive "
                                 "definite there): raise damping until ∇²J + νI is")
            value = f(theta)
            while f(theta + alpha * p) > value + 1e-4 * alpha * slope and alpha > 1e-12:
                alpha *= 0.5
        theta = theta + alpha * p
        path.append(theta.copy())
    return NewtonResult(theta, np.array(path), len(path) - 1, evaluations, status)


def transformed(grad_hess, A, b):
    """The gradient and Hessian of J̃(z) = J(Az + b): (Aᵀ∇J(Az + b), Aᵀ∇²J(Az + b)A)."""
    A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)

    def grad_hess_z(z):
        g, H = grad_hess(A @ z + b)
        return A.T @ g, A.T @ H @ A

    return grad_hess_z


def ravine_hessian(p):
    """∇²J of the ravine J = ½(x² + 20y²): the constant diag(1, 20)."""
    return np.diag([1.0, 20.0])


def rosenbrock_hessian(p):
    """∇²J of Rosenbrock's J = (1 − x)² + 100(y − x²)²."""
    x, y = float(p[0]), float(p[1])
    return np.array([[2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x], [-400.0 * x, 200.0]])


HESSIANS = {"ravine": ravine_hessian, "rosenbrock": rosenbrock_hessian}


def grad_hess(surface):
    """θ ↦ (∇J(θ), ∇²J(θ)) for a surface of :mod:`gdlib.surfaces` that has a Hessian here."""
    from .surfaces import SURFACES

    name = surface if isinstance(surface, str) else getattr(surface, "name", None)
    if name not in HESSIANS:
        raise ValueError(f"no Hessian for surface {surface!r}; choose one of {', '.join(HESSIANS)}")
    s, hessian = SURFACES[name], HESSIANS[name]
    return lambda theta: (s.gradient_at(theta), hessian(theta))
