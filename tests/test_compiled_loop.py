"""The compiled loop runs the same packed step as Optimizer.step: identical paths."""

import numba
import numpy as np
import pytest

import gdlib
from cases import CASES
from objectives import quadratic_gradient, rosenbrock_gradient, tiled_quadratic_gradient


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id, make", [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_compiled_run_is_bit_identical_to_python_steps(case_id, make, dtype):
    opt = make()
    layers = getattr(opt, "layers", None)  # LARS and LAMB cases: θ of the size their layers cover
    n = 2 if layers is None else layers.size
    start = np.tile([-1.2, 1.0], n // 2).astype(dtype)
    gradient = quadratic_gradient if n == 2 else tiled_quadratic_gradient
    theta0 = start.copy()
    result = gdlib.run_compiled(opt, gradient, theta0, 300)
    if layers is None:
        assert result.status == "ok" and result.steps == 300
    else:  # LARS with η = 2 leaves this quadratic (θ overflows near step 200): compare the steps taken
        assert result.status in ("ok", "diverged", "nonfinite_gradient") and result.steps >= 10, result.steps
    theta = theta0.copy()
    state = opt.init(theta)
    g = np.empty_like(theta)
    path = [theta.copy()]
    for _ in range(result.steps):
        gradient(opt.lookahead(theta, state), g)
        opt.step(theta, g, state)
        path.append(theta.copy())
    np.testing.assert_array_equal(result.trajectory, np.array(path))
    np.testing.assert_array_equal(result.state.buffer, state.buffer)
    assert result.state.t == state.t == result.steps
    np.testing.assert_array_equal(theta0, start)  # start not modified


def test_compiled_run_stops_when_the_gradient_overflows():
    # SGD with η = 0.05 on Rosenbrock from (−1.2, 1) blows up within a few steps.
    result = gdlib.run_compiled(gdlib.SGD(eta=0.05), rosenbrock_gradient, np.array([-1.2, 1.0]), 1000)
    assert result.status == "nonfinite_gradient"
    assert 0 < result.steps < 1000
    assert np.all(np.isfinite(result.trajectory))  # stopped before the bad update
    assert np.abs(result.trajectory[-1]).max() > 1e10


def test_compiled_run_stops_when_theta_becomes_infinite():
    # On the quadratic the gradient stays finite as long as θ does; η = 1 on curvature 10 diverges.
    result = gdlib.run_compiled(gdlib.SGD(eta=1.0), quadratic_gradient, np.array([1.0, 1.0]), 5000)
    assert result.status in ("diverged", "nonfinite_gradient")
    assert result.steps < 5000


@numba.njit
def _huge_constant_gradient(x, out):
    out[:] = 1e300


def test_compiled_run_reports_divergence_after_the_step_that_overflowed_theta():
    # g = 1e300 is finite; one step of η = 1e10 takes θ to −inf: status "diverged" after that step.
    result = gdlib.run_compiled(gdlib.SGD(eta=1e10), _huge_constant_gradient, np.array([1.0, 2.0]), 5)
    assert result.status == "diverged" and result.steps == 1
    assert np.all(result.trajectory[0] == [1.0, 2.0]) and np.all(result.trajectory[1] == -np.inf)


def test_compiled_run_without_recording():
    result = gdlib.run_compiled(gdlib.Adam(eta=0.01), rosenbrock_gradient, np.array([-1.2, 1.0]), 50, record=False)
    assert result.trajectory is None and result.steps == 50 and result.state.t == 50
