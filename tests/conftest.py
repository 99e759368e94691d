import numpy as np
import pytest
from hypothesis import settings

# Property-based tests (test_properties.py): reproducible (derandomized: the
# same examples on every run and machine), bounded (a modest number of
# examples), and no deadline, since the first example of a new shape or
# dtype compiles. HYPOTHESIS_PROFILE=explore searches with fresh randomness.
settings.register_profile("gdlib", derandomize=True, max_examples=100, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "gdlib"))


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
