import numpy as np
import pytest


def gradient_sequence(rng, n_steps, size, dtype):
    """Random gradients built to stress the update rules.

    Per coordinate, a magnitude drawn log-uniformly from 1e-6 to 1e3; some
    coordinates exactly zero for the first steps (state still at zero, 0/0
    territory), scattered exact zeros, and some tiny values: 1e-20 in float64,
    1e-15 in float32, whose square is still a normal float32 (a subnormal
    square keeps only a few significant digits, so no two orderings of the
    arithmetic would agree there).
    """
    scale = 10.0 ** rng.uniform(-6, 3, size=size)
    g = rng.standard_normal((n_steps, size)) * scale
    g[: n_steps // 3, : size // 8] = 0.0  # zero until a third of the run
    g[rng.random((n_steps, size)) < 0.1] = 0.0  # scattered exact zeros
    tiny = rng.random((n_steps, size)) < 0.05
    g[tiny] = (1e-20 if dtype == np.float64 else 1e-15) * np.sign(rng.standard_normal(tiny.sum()))
    return g.astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(20260101)
