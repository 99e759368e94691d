"""Surfaces: analytic gradients against finite differences, known minima, trajectories."""

import numpy as np
import pytest

import gdlib
from gdlib import surfaces

NAMES = list(surfaces.SURFACES)


def _numeric_gradient(value, p, h=1e-6):
    x, y = p
    return np.array([(value(x + h, y) - value(x - h, y)) / (2 * h), (value(x, y + h) - value(x, y - h)) / (2 * h)])


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name, rng):
    s = surfaces.SURFACES[name]
    (x0, x1), (y0, y1) = s.window
    for _ in range(20):
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        numeric = _numeric_gradient(s.value, p)
        np.testing.assert_allclose(s.gradient_at(p), numeric, rtol=1e-6, atol=1e-6 * (1 + np.abs(numeric).max()))


@pytest.mark.parametrize("name", [n for n in NAMES if surfaces.SURFACES[n].minima])
def test_known_minima_are_stationary_with_the_stated_value(name):
    s = surfaces.SURFACES[name]
    for m in s.minima + s.local_minima:
        assert np.abs(s.gradient_at(m)).max() < 1e-4
        assert s(*m) == pytest.approx(s.minimum_value, abs=1e-9)
    X, Y, Z = s.grid(301)
    assert Z.min() >= s.minimum_value - 1e-12  # nothing on the window lies below the minimum


def test_saddle_has_a_stationary_point_that_is_not_a_minimum():
    s = surfaces.SADDLE
    assert np.all(s.gradient_at((0.0, 0.0)) == 0)
    assert s(0.0, 0.1) < s(0.0, 0.0) < s(0.1, 0.0)


def test_grid_uses_the_same_formula_as_the_compiled_value():
    s = surfaces.BEALE
    X, Y, Z = s.grid(7)
    expected = np.array([[s.value(x, y) for x, y in zip(rx, ry)] for rx, ry in zip(X, Y)])
    np.testing.assert_allclose(Z, expected, rtol=1e-15)


@pytest.mark.parametrize("n", [2, 5, 50])
def test_nd_forms_match_finite_differences_and_the_2d_forms(n, rng):
    x = rng.uniform(-1.5, 1.5, n)
    for value, gradient in ((surfaces.ravine_nd_value, surfaces.ravine_nd_gradient),
                            (surfaces.rosenbrock_nd_value, surfaces.rosenbrock_nd_gradient)):
        g = np.empty(n)
        gradient(x, g)
        h = 1e-6
        numeric = np.array([(value(x + h * e) - value(x - h * e)) / (2 * h) for e in np.eye(n)])
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-6)
    p = np.array([0.3, -0.7])
    assert surfaces.rosenbrock_nd_value(p) == pytest.approx(surfaces.ROSENBROCK(*p), rel=1e-15)
    assert surfaces.ravine_nd_value(p) == pytest.approx(surfaces.RAVINE(*p), rel=1e-15)


def test_trajectory_equals_a_python_loop_of_steps():
    opt = gdlib.Nesterov(eta=1e-3, gamma=0.9)  # the look-ahead form: gradients at θ − γv
    result = gdlib.trajectory(opt, "beale", n_steps=500)
    theta = np.array(surfaces.BEALE.start, dtype=float)
    state = opt.init(theta)
    g = np.empty(2)
    for k in range(500):
        surfaces.beale_gradient(opt.lookahead(theta, state), g)
        opt.step(theta, g, state)
        np.testing.assert_array_equal(result.trajectory[k + 1], theta)
    np.testing.assert_allclose(result.values, surfaces.BEALE.values_along(result.trajectory))


def test_ten_thousand_steps_run_in_one_compiled_call():
    result = gdlib.trajectory(gdlib.Adam(eta=0.05), "beale", n_steps=10_000)
    assert result.trajectory.shape == (10_001, 2)
    np.testing.assert_allclose(result.trajectory[-1], (3.0, 0.5), atol=1e-3)


@pytest.mark.parametrize("bad, error, words", [
    (dict(surface="nope"), ValueError, "unknown surface"),
    (dict(surface=42), TypeError, "gdlib.surfaces.Surface"),
    (dict(start=(1.0,)), ValueError, "two finite coordinates"),
    (dict(start=(np.nan, 1.0)), ValueError, "two finite coordinates"),
])
def test_trajectory_bad_input(bad, error, words):
    args = dict(surface="beale", start=None)
    args.update(bad)
    with pytest.raises(error, match=words):
        gdlib.trajectory(gdlib.SGD(), args["surface"], args["start"], 10)
