"""Both compiled twins of every kernel, on the same inputs.

Every element-wise kernel is compiled twice (``gdlib._numba.Twins``): a
serial loop and a ``parallel=True`` one, and each optimizer's packed step
picks one by the array size. The oracle tests run small arrays, below the
default threshold (50,000 elements), so on their own they would only ever
see the serial twin and the serial branch of each packed step. Here the
threshold is set at run time (``GDLIB_PARALLEL_MIN_SIZE``, read when an
optimizer is created) to 0 and to 10^9, so the same small inputs run
through each branch of each packed step: both must equal the float64
reference entry by entry, and each other bit for bit (element-wise
arithmetic in the same order, no fastmath; LARS's and LAMB's norms are sums
of fixed blocks added in order, the same in both twins: see
``test_lars_lamb.py`` for θ spanning several blocks).
"""

import numpy as np
import pytest

import gdlib
from cases import CASES, run_against_reference
from gdlib import _numba
from gdlib.optim import base

PARALLEL, SERIAL = 0, 10**9


def _run(monkeypatch, threshold, make, make_ref, names, dtype, seed):
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    opt, theta, state = run_against_reference(make, make_ref, names, dtype, np.random.default_rng(seed))
    assert opt.hyper[-1] == threshold
    return theta, state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id, make, make_ref, names", CASES, ids=[c[0] for c in CASES])
def test_parallel_and_serial_twins_match_reference_and_each_other(case_id, make, make_ref, names, dtype,
                                                                  monkeypatch):
    theta_p, state_p = _run(monkeypatch, PARALLEL, make, make_ref, names, dtype, 7)
    theta_s, state_s = _run(monkeypatch, SERIAL, make, make_ref, names, dtype, 7)
    np.testing.assert_array_equal(theta_p, theta_s)
    np.testing.assert_array_equal(state_p.buffer, state_s.buffer)
    np.testing.assert_array_equal(state_p.counters, state_s.counters)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("twin", ["serial", "parallel"])
def test_count_nonfinite_twins(twin, dtype):
    kernel = getattr(base.count_nonfinite, twin)
    x = np.linspace(-1, 1, 1001).astype(dtype)
    assert kernel(x) == 0
    x[[0, 17, 500, 1000]] = [np.nan, np.inf, -np.inf, np.nan]
    assert kernel(x) == 4
    assert kernel(x[:0]) == 0


@pytest.mark.parametrize("min_size", [0, 10**9])
def test_nonfinite_entries_either_twin(min_size):
    x = np.zeros(64)
    x[3] = np.nan
    assert base.nonfinite_entries(x, min_size) == 1


@pytest.mark.parametrize("threshold", [PARALLEL, SERIAL])
def test_nonfinite_gradient_rejected_by_either_twin(threshold, monkeypatch):
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    opt = gdlib.Adam()
    theta = np.ones(40)
    state = opt.init(theta)
    g = np.ones(40)
    g[[5, 9]] = [np.inf, np.nan]
    with pytest.raises(ValueError, match="2 NaN or infinite"):
        opt.step(theta, g, state)
    assert state.t == 0 and np.all(theta == 1.0)


def test_threshold_is_read_at_run_time(monkeypatch):
    monkeypatch.delenv("GDLIB_PARALLEL_MIN_SIZE", raising=False)
    assert _numba.parallel_min_size() == _numba.PARALLEL_MIN_SIZE == 50_000
    assert gdlib.SGD().hyper[-1] == 50_000
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", "123")
    assert _numba.parallel_min_size() == 123
    assert gdlib.SGD().hyper[-1] == 123
    assert gdlib.SGD().hyperparameters() == {"eta": 0.01}  # not a hyperparameter of the method
    for bad in ("many", "-1"):
        monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", bad)
        with pytest.raises(ValueError, match="GDLIB_PARALLEL_MIN_SIZE"):
            gdlib.SGD()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_any_nonfinite_finds_one_entry_anywhere(dtype, bad):
    x = (np.linspace(-1, 1, 1003) * np.finfo(dtype).max).astype(dtype)  # finite, up to the largest float
    assert not base.any_nonfinite(x) and not base.any_nonfinite(x[:0])
    for where in (0, 1, 517, 1002):
        y = x.copy()
        y[where] = bad
        assert base.any_nonfinite(y)
        assert base.nonfinite_entries(y, 10**9) == base.nonfinite_entries(y, 0) == 1
