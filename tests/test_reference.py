"""Every optimizer against the plain-NumPy transcription of its seed equation."""

import numpy as np
import pytest

from cases import CASES
from conftest import gradient_sequence

# float32: about 16 units in the last place, for 40 steps of differently ordered rounding.
TOLERANCE = {np.float64: dict(rtol=1e-12), np.float32: dict(rtol=2e-6)}


def _assert_close(actual, expected, dtype, what, step):
    tol = TOLERANCE[dtype]
    # Entries that cancelled to near zero are judged against the array's
    # scale: their error is that of the sum of steps that produced them.
    atol = tol["rtol"] * max(np.max(np.abs(expected)), np.finfo(dtype).tiny)
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=atol,
                               err_msg=f"{what} differs after step {step}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id, make, make_ref, names", CASES, ids=[c[0] for c in CASES])
def test_matches_reference(case_id, make, make_ref, names, dtype, rng):
    size, n_steps = 96, 40
    theta0 = rng.standard_normal(size).astype(dtype)
    grads = gradient_sequence(rng, n_steps, size, dtype)
    opt = make()
    theta = theta0.copy()
    state = opt.init(theta)
    reference = make_ref(theta0)
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        reference.step(g)
        assert state.t == reference.t == k
        assert theta.dtype == dtype
        _assert_close(theta, reference.theta, dtype, "theta", k)
        for name in names:
            _assert_close(getattr(state, name), getattr(reference, name), dtype, name, k)
    assert np.all(np.isfinite(theta))
