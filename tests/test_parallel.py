"""Elastic Averaging SGD: the update as Zhang et al. write it, and convergence of the centre."""

import numpy as np
import pytest

from gdlib.parallel import easgd_round


def test_round_matches_the_paper_written_with_alpha(rng):
    p, d, eta, rho = 4, 5, 0.1, 0.5
    workers, center, grads = rng.standard_normal((p, d)), rng.standard_normal(d), rng.standard_normal((p, d))
    new_workers, new_center = easgd_round(workers, center, grads, eta, rho)
    alpha = eta * rho  # the paper's moving rate
    for i in range(p):
        np.testing.assert_allclose(new_workers[i], workers[i] - eta * grads[i] - alpha * (workers[i] - center))
    np.testing.assert_allclose(new_center, (1 - p * alpha) * center + p * alpha * workers.mean(axis=0))


def test_elastic_force_is_conservative_without_gradients(rng):
    """With zero gradients the workers and the centre only pull on each other: their
    weighted sum Σ x^i + x̃ is unchanged, and everything contracts to one point."""
    workers, center = rng.standard_normal((3, 2)), rng.standard_normal(2)
    total = workers.sum(axis=0) + center
    for _ in range(500):
        workers, center = easgd_round(workers, center, np.zeros_like(workers), 0.1, 0.5)
    np.testing.assert_allclose(workers.sum(axis=0) + center, total)
    np.testing.assert_allclose(workers, np.broadcast_to(center, workers.shape), atol=1e-10)


def test_centre_converges_with_noisy_workers():
    rng = np.random.default_rng(3)
    A = np.diag([1.0, 10.0])
    workers, center = rng.standard_normal((4, 2)) * 3, np.zeros(2) + 3.0
    for t in range(3000):
        grads = workers @ A + 0.5 * rng.standard_normal(workers.shape)
        workers, center = easgd_round(workers, center, grads, 0.02, 1.0)
    assert np.linalg.norm(center) < 0.1


@pytest.mark.parametrize("args, words", [
    ((np.zeros((2, 3)), np.zeros(2), np.zeros((2, 3)), 0.1, 0.5), "workers must be"),
    ((np.zeros((2, 3)), np.zeros(3), np.zeros((2, 3)), -0.1, 0.5), "eta must be > 0"),
    ((np.zeros((2, 3)), np.zeros(3), np.zeros((2, 3)), 0.1, -1.0), "rho must be >= 0"),
])
def test_bad_input(args, words):
    with pytest.raises(ValueError, match=words):
        easgd_round(*args)


# ------------------------------------------------------------------ Hogwild!
from gdlib import data  # noqa: E402
from gdlib.parallel import hogwild, logistic_loss, to_csr  # noqa: E402


def _serial_reference(X, y, epochs, eta, seed):
    """Plain NumPy SGD on logistic regression, one row at a time, same shuffles."""
    theta = np.zeros(X.shape[1] + 1)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            z = X[i] @ theta[:-1] + theta[-1]
            dz = eta * (1 / (1 + np.exp(-z)) - y[i])
            theta[:-1] -= dz * X[i]
            theta[-1] -= dz
    return theta


def test_one_thread_is_serial_sgd():
    s = data.sparse_zipf(n=300, p=40, seed=1)
    ours = hogwild(s.X_train, s.y_train, epochs=2, eta=0.1, threads=1, seed=3)
    np.testing.assert_allclose(ours, _serial_reference(s.X_train, s.y_train, 2, 0.1, 3), rtol=1e-10, atol=1e-12)


def test_csr_round_trip():
    X = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    indptr, indices, values = to_csr(X)
    assert indptr.tolist() == [0, 1, 3] and indices.tolist() == [1, 0, 2] and values.tolist() == [2.0, 1.0, 3.0]


def test_lock_free_threads_converge_like_serial_sgd_on_sparse_data():
    """Races make single runs differ, so compare losses over several seeds, not bits."""
    s = data.sparse_zipf(n=6000, p=500, seed=2)
    serial, parallel = [], []
    for seed in range(3):
        serial.append(logistic_loss(hogwild(s.X_train, s.y_train, epochs=20, eta=0.05, threads=1, seed=seed),
                                    s.X_train, s.y_train))
        parallel.append(logistic_loss(hogwild(s.X_train, s.y_train, epochs=20, eta=0.05, threads=2, seed=seed),
                                      s.X_train, s.y_train))
    assert np.mean(parallel) == pytest.approx(np.mean(serial), rel=0.05)
    assert np.mean(parallel) < 0.5 * logistic_loss(np.zeros(501), s.X_train, s.y_train)


@pytest.mark.parametrize("kwargs, words", [
    (dict(threads=0), "threads must be between 1"),
    (dict(threads=10_000), "threads must be between 1"),
    (dict(eta=-1.0), "eta must be > 0"),
])
def test_hogwild_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        hogwild(np.ones((4, 2)), np.zeros(4), **kwargs)


# ------------------------------------------------------------ the simulator
import gdlib  # noqa: E402
from gdlib.parallel import async_sgd, sync_sgd  # noqa: E402
from gdlib.surfaces import RAVINE, ROSENBROCK  # noqa: E402


@pytest.mark.parametrize("make", [lambda: gdlib.SGD(eta=1e-3), lambda: gdlib.Adam(eta=0.01),
                                  lambda: gdlib.Nesterov(eta=1e-4, gamma=0.9)])
def test_zero_delay_is_serial_optimization_exactly(make):
    path = async_sgd(make(), ROSENBROCK.gradient_at, (-1.2, 1.0), 300, delay=0)
    serial = gdlib.trajectory(make(), "rosenbrock", (-1.2, 1.0), 300).trajectory
    np.testing.assert_array_equal(path, serial)


def test_staleness_breaks_a_step_size_that_serial_sgd_tolerates():
    """η = 0.05 on the ravine (curvature 20, so η·L = 1) converges without delay; gradients
    20 steps stale make the same step size diverge."""
    fresh = async_sgd(gdlib.SGD(eta=0.05), RAVINE.gradient_at, (-9.0, 1.5), 400, delay=0)
    stale = async_sgd(gdlib.SGD(eta=0.05, check_finite=False), RAVINE.gradient_at, (-9.0, 1.5), 400, delay=20)
    assert np.abs(fresh[-1]).max() < 1e-3
    assert not np.isfinite(stale[-1]).all() or np.abs(stale[-1]).max() > 1e3


def test_random_delays_are_reproducible_from_the_seed():
    a = async_sgd(gdlib.SGD(eta=0.01), RAVINE.gradient_at, (-9.0, 1.5), 200, delay=5, random_delay=True, seed=4)
    b = async_sgd(gdlib.SGD(eta=0.01), RAVINE.gradient_at, (-9.0, 1.5), 200, delay=5, random_delay=True, seed=4)
    c = async_sgd(gdlib.SGD(eta=0.01), RAVINE.gradient_at, (-9.0, 1.5), 200, delay=5, random_delay=True, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sync_sgd_averages_the_workers_gradients():
    A, B = np.diag([1.0, 2.0]), np.diag([3.0, 0.0])
    path = sync_sgd(gdlib.SGD(eta=0.1), [lambda x: A @ x, lambda x: B @ x], (1.0, 1.0), 5)
    theta = np.array([1.0, 1.0])
    for _ in range(5):
        theta = theta - 0.1 * ((A + B) / 2) @ theta
    np.testing.assert_allclose(path[-1], theta, rtol=1e-15)


def test_simulator_bad_input():
    with pytest.raises(ValueError, match="delay must be"):
        async_sgd(gdlib.SGD(), RAVINE.gradient_at, (1.0, 1.0), 3, delay=-1)
    with pytest.raises(ValueError, match="at least one worker"):
        sync_sgd(gdlib.SGD(), [], (1.0, 1.0), 3)
