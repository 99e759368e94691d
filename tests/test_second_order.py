"""Newton's method: convergence on the book's surfaces, affine invariance, and clear errors."""

import numpy as np
import pytest

import gdlib
from gdlib import second_order as so, surfaces


def test_newton_solves_the_ravine_in_one_step_and_rosenbrock_in_a_few():
    r = so.newton(so.grad_hess("ravine"), np.array([-9.0, 1.5]))
    assert r.iterations == 1 and r.status == "converged"
    np.testing.assert_allclose(r.theta, 0.0, atol=1e-15)
    r = so.newton(so.grad_hess("rosenbrock"), np.array([-1.2, 1.0]))
    assert r.status == "converged" and r.iterations <= 10
    np.testing.assert_allclose(r.theta, 1.0, rtol=1e-12)
    searched = so.newton(so.grad_hess("rosenbrock"), np.array([-1.2, 1.0]), line_search=True,
                         f=lambda t: surfaces.ROSENBROCK(*t))
    values = [surfaces.ROSENBROCK(*p) for p in searched.trajectory]
    assert searched.status == "converged" and all(np.diff(values) <= 0)  # the line search only goes down


def test_hessians_match_finite_differences_of_the_gradients():
    for name in ("ravine", "rosenbrock"):
        s, hess = surfaces.SURFACES[name], so.HESSIANS[name]
        p, h = np.array([0.3, -0.7]), 1e-6
        numeric = np.column_stack([(s.gradient_at(p + h * e) - s.gradient_at(p - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(hess(p), numeric, rtol=1e-7, atol=1e-6)


@pytest.mark.parametrize("name, start", [("rosenbrock", (-1.2, 1.0)), ("rosenbrock", (0.5, -1.0)),
                                         ("ravine", (-9.0, 1.5))])
def test_newton_is_affine_invariant_and_gradient_descent_is_not(name, start):
    rng = np.random.default_rng(3)
    A = np.array([[2.0, 0.7], [-0.4, 0.5]]) + 0.1 * rng.standard_normal((2, 2))
    b = np.array([0.3, -0.2])
    theta0 = np.array(start)
    z0 = np.linalg.solve(A, theta0 - b)
    plain = so.newton(so.grad_hess(name), theta0, steps=8, tol=0.0)
    moved = so.newton(so.transformed(so.grad_hess(name), A, b), z0, steps=8, tol=0.0)
    # until one run lands on a gradient of exactly zero (the other's is ~1e-16 and it stays put)
    n = min(len(plain.trajectory), len(moved.trajectory))
    assert n >= (7 if name == "rosenbrock" else 2)
    np.testing.assert_allclose(moved.trajectory[:n] @ A.T + b, plain.trajectory[:n], rtol=0, atol=1e-10)
    # gradient descent, same step size, same transformation: different points
    gh, ghz = so.grad_hess(name), so.transformed(so.grad_hess(name), A, b)
    theta, z = theta0.copy(), z0.copy()
    for _ in range(3):
        theta, z = theta - 1e-3 * gh(theta)[0], z - 1e-3 * ghz(z)[0]
    assert np.linalg.norm(A @ z + b - theta) > 1e-4


def test_a_singular_hessian_is_named_and_damping_is_the_way_out():
    def flat(theta):  # J = x⁴ + y²: the Hessian diag(12x², 2) is singular at x = 0
        return np.array([4 * theta[0] ** 3, 2 * theta[1]]), np.diag([12 * theta[0] ** 2, 2.0])

    with pytest.raises(so.SingularHessianError, match="damping > 0"):
        so.newton(flat, np.array([0.0, 1.0]))
    r = so.newton(flat, np.array([0.0, 1.0]), damping=1.0, steps=200, tol=1e-8)
    assert r.status == "converged"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(theta0=np.array([1, 2])), TypeError, "float32 or float64"),
    (dict(theta0=np.array([[1.0, 2.0]])), ValueError, "1-D"),
    (dict(steps=-1), ValueError, "whole number"),
    (dict(damping=-1.0), ValueError, "damping must be >= 0"),
    (dict(line_search=True), TypeError, "needs f="),
    (dict(grad_hess=lambda t: t), TypeError, "pair (gradient, Hessian)"),
    (dict(grad_hess=lambda t: (t, np.eye(3))), ValueError, "expected (2,) and (2, 2)"),
    (dict(grad_hess=lambda t: (t * np.nan, np.eye(2))), ValueError, "not finite"),
])
def test_bad_newton_input_says_what_to_fix(kwargs, error, words):
    args = dict(grad_hess=so.grad_hess("ravine"), theta0=np.array([1.0, 2.0]))
    args.update(kwargs)
    with pytest.raises(error) as info:
        so.newton(args.pop("grad_hess"), args.pop("theta0"), **args)
    assert words in str(info.value)


def test_an_uphill_newton_direction_is_refused_by_the_line_search():
    saddle = lambda t: (np.array([2 * t[0], -2 * t[1]]), np.diag([2.0, -2.0]))  # noqa: E731
    with pytest.raises(ValueError, match="uphill"):
        so.newton(saddle, np.array([0.1, 1.0]), line_search=True, f=lambda t: t[0] ** 2 - t[1] ** 2)
    with pytest.raises(ValueError, match="no Hessian for surface 'beale'"):
        so.grad_hess("beale")
    assert gdlib.second_order is so
