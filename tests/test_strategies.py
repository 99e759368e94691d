"""Early stopping and annealed gradient noise, as gdlib.train uses them."""

import numpy as np
import pytest

from gdlib.strategies import EarlyStopping, add_gradient_noise, gradient_noise_std


def _run(losses, patience, min_delta=0.0):
    stopper = EarlyStopping(patience, min_delta)
    for epoch, loss in enumerate(losses):
        if stopper.update(epoch, loss):
            return epoch, stopper.best_epoch
    return None, stopper.best_epoch


@pytest.mark.parametrize("losses, patience, min_delta, expected", [
    ([1.0, 0.8, 0.7, 0.71, 0.72, 0.73], 2, 0.0, (5, 2)),  # stops 3 epochs after the best
    ([1.0, 0.9, 0.95, 0.5], 0, 0.0, (2, 1)),  # patience 0: the first non-improving epoch stops
    ([1.0, 0.9, 0.8], 1, 0.0, (None, 2)),  # keeps improving: never stops
    ([1.0, 0.99, 0.985, 0.98, 0.5], 2, 0.05, (3, 0)),  # improvements below min_delta do not count
])
def test_early_stopping_rule(losses, patience, min_delta, expected):
    assert _run(losses, patience, min_delta) == expected


def test_early_stopping_rejects_bad_patience():
    with pytest.raises(ValueError, match="patience must be a whole number"):
        EarlyStopping(-1)
    with pytest.raises(ValueError, match="patience must be a whole number"):
        EarlyStopping(1.5)


def test_noise_standard_deviation_follows_the_annealing():
    assert gradient_noise_std(0.0, 0.3, 0.55) == pytest.approx(np.sqrt(0.3))
    assert gradient_noise_std(99.0, 1.0, 1.0) == pytest.approx(0.1)
    g = np.zeros(200_000)
    noisy = add_gradient_noise(g, 3, 0.5, 0.55, np.random.default_rng(0))
    assert np.std(noisy) == pytest.approx(np.sqrt(0.5 / 4**0.55), rel=0.01)
    assert np.all(g == 0)  # a new array: the gradient passed in is untouched
