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
