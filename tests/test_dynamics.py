"""gdlib.dynamics: the rate formulas of momentum-dynamics.md against contraction measured on gdlib's own runs.

Random quadratics ½θᵀAθ in float64. Three measurements, none using the formulas:
the spectral radius of the iteration matrix probed from the optimizer's step;
the characteristic polynomial of each eigen-coordinate fitted to a run; and the
ratio of successive errors late in a run whose slowest direction is over-damped.
"""

from __future__ import annotations

import numpy as np
import pytest

import gdlib
from gdlib import dynamics


def _quadratic(rng, n=4, kappa=30.0):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.concatenate([[1.0, kappa], rng.uniform(1.0, kappa, n - 2)])
    return (Q * lam) @ Q.T, np.sort(lam), Q


CASES = [(seed, method) for seed in range(6) for method in ("momentum", "nesterov")]


@pytest.mark.parametrize("seed,method", CASES)
def test_rate_is_the_spectral_radius_of_the_probed_step(seed, method):
    rng = np.random.default_rng(seed)
    A, lam, _ = _quadratic(rng)
    eta, gamma = rng.uniform(0.005, 2.2 / lam[-1]), rng.uniform(0.0, 0.98)
    cls, rate = (gdlib.Momentum, dynamics.momentum_rate) if method == "momentum" else \
        (gdlib.Nesterov, dynamics.nesterov_rate)
    M = dynamics.iteration_matrix(cls(eta=eta, gamma=gamma), A)
    measured = np.max(np.abs(np.linalg.eigvals(M)))
    assert abs(measured - rate(eta, gamma, lam)) < 1e-10
    # and each 2x2 block's eigenvalues are the closed-form roots
    roots = (dynamics.momentum_eigenvalues if method == "momentum" else dynamics.nesterov_eigenvalues)(eta, gamma, lam)
    matrix = dynamics.momentum_matrix if method == "momentum" else dynamics.nesterov_matrix
    for i, l in enumerate(lam):
        block = np.sort_complex(np.linalg.eigvals(matrix(eta, gamma, l)))
        assert np.allclose(block, np.sort_complex(roots[i]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_recurrence_fitted_to_a_run_has_the_formula_roots(seed):
    """Along eigenvector u_i, x_t = u_iᵀθ_t obeys x_{t+1} = (1 + γ − ηλ) x_t − γ x_{t−1}: fit it to the run."""
    rng = np.random.default_rng(100 + seed)
    A, lam, Q = _quadratic(rng, n=3, kappa=10.0)
    order = np.argsort(np.diag(Q.T @ A @ Q))
    eta, gamma = rng.uniform(0.01, 1.5 / lam[-1]), rng.uniform(0.3, 0.9)
    opt = gdlib.Momentum(eta=eta, gamma=gamma)
    theta = rng.standard_normal(3)
    state = opt.init(theta)
    xs = [Q.T @ theta]
    for _ in range(12):
        opt.step(theta, A @ theta, state)
        xs.append(Q.T @ theta)
    xs = np.array(xs)[:, order]
    measured = 0.0
    for i in range(3):
        x = xs[:, i]
        (trace, det), *_ = np.linalg.lstsq(np.column_stack([x[1:-1], -x[:-2]]), x[2:], rcond=None)
        assert abs(trace - (1 + gamma - eta * lam[i])) < 1e-10 and abs(det - gamma) < 1e-10
        measured = max(measured, np.max(np.abs(np.roots([1.0, -trace, det]))))
    assert abs(measured - dynamics.momentum_rate(eta, gamma, lam)) < 1e-10


def test_late_error_ratio_is_the_rate_when_the_slowest_direction_is_over_damped():
    rng = np.random.default_rng(7)
    A, lam, _ = _quadratic(rng, n=5, kappa=40.0)
    eta, gamma = 0.4 / lam[-1], 0.2  # ηλ for λ = μ is far below (1 − √γ)²: real dominant root
    assert dynamics.regime(eta, gamma, lam[0]) == "over-damped"
    opt = gdlib.Momentum(eta=eta, gamma=gamma)
    theta = np.ones(5)
    state = opt.init(theta)
    errors = []
    for _ in range(1500):
        opt.step(theta, A @ theta, state)
        errors.append(np.linalg.norm(theta))
    ratio = errors[-1] / errors[-2]
    assert errors[-1] > 1e-250
    assert abs(ratio - dynamics.momentum_rate(eta, gamma, lam)) < 1e-10


def test_tuned_pairs():
    L, mu = 100.0, 1.0
    hb, gd, nag = dynamics.optimal_momentum(L, mu), dynamics.optimal_gd(L, mu), dynamics.nesterov_standard(L, mu)
    assert np.isclose(hb.rate, 9 / 11) and np.isclose(hb.gamma, (9 / 11) ** 2) and np.isclose(hb.eta, 4 / 121)
    assert np.isclose(gd.rate, 99 / 101) and np.isclose(gd.eta, 2 / 101)
    assert np.isclose(dynamics.momentum_rate(hb.eta, hb.gamma, [mu, 30.0, L]), hb.rate, rtol=1e-12)
    assert np.isclose(dynamics.gd_rate(gd.eta, [mu, L]), gd.rate, rtol=1e-12)
    assert np.isclose(dynamics.nesterov_rate(nag.eta, nag.gamma, [mu, 7.0, L]), nag.rate, rtol=1e-7)
    A = np.diag([mu, 3.0, L])
    assert dynamics.optimal_momentum(A) == pytest.approx(hb)
    assert [dynamics.regime(hb.eta, hb.gamma, x) for x in (0.5, 1.0, 50.0, 100.0, 101.0)] == \
        ["over-damped", "critical", "oscillating", "critical", "sign-flipping"]
    assert dynamics.regime(0.1, 0.5, 40.0) == "divergent"


@pytest.mark.parametrize("call,message", [
    (lambda: dynamics.momentum_rate(0.1, 1.0, [1.0]), "gamma must lie in"),
    (lambda: dynamics.momentum_rate(-0.1, 0.5, [1.0]), "eta must be > 0"),
    (lambda: dynamics.momentum_rate(0.1, 0.5, [1.0, -2.0]), "finite and > 0"),
    (lambda: dynamics.momentum_rate(0.1, 0.5, []), "empty"),
    (lambda: dynamics.momentum_rate(0.1, 0.5, np.eye(2)), "eigvalsh"),
    (lambda: dynamics.optimal_momentum(np.array([[1.0, 2.0], [0.0, 1.0]])), "symmetric"),
    (lambda: dynamics.optimal_momentum(np.diag([1.0, -1.0])), "positive definite"),
    (lambda: dynamics.optimal_momentum(1.0, 2.0), "must not exceed"),
    (lambda: dynamics.iteration_matrix(gdlib.Adam(), np.eye(2)), "not linear maps"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
