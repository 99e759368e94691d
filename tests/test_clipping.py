"""Gradient clipping by value and by global norm: PyTorch's clip_grad_value_ / clip_grad_norm_ as
the oracle, Pascanu et al.'s rule as the default, and the clipping inside gdlib.train."""

import math

import numba
import numpy as np
import pytest
import torch

import gdlib
from gdlib import clipping, data, models, norms


def _layers(seed, scale):
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(s) for s in ((5, 3), (3,), (3, 2), (2,))]


def _torch_clip(layers, how, value):
    params = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in layers]
    for p, g in zip(params, layers):
        p.grad = torch.tensor(g)
    norm = None
    if how == "value":
        torch.nn.utils.clip_grad_value_(params, value)
    else:
        norm = float(torch.nn.utils.clip_grad_norm_(params, value))
    return [p.grad.numpy() for p in params], norm


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_clip_by_value_matches_torch(scale):
    layers = _layers(0, scale)
    ours = clipping.clip_by_value(layers, 0.5)
    theirs, _ = _torch_clip(layers, "value", 0.5)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_clip_by_global_norm_with_torchs_eps_matches_torch(scale):
    layers = _layers(1, scale)
    ours, norm = clipping.clip_by_global_norm(layers, 1.0, eps=1e-6)
    theirs, torch_norm = _torch_clip(layers, "norm", 1.0)
    assert norm == pytest.approx(torch_norm, rel=1e-15)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)


def test_pascanus_rule_lands_exactly_on_the_threshold_and_torchs_a_hair_under():
    g = np.array([3.0, 4.0])  # ‖g‖ = 5
    pascanu, norm = clipping.clip_by_global_norm(g, 1.0)
    torch_like, _ = clipping.clip_by_global_norm(g, 1.0, eps=1e-6)
    assert norm == 5.0 and np.linalg.norm(pascanu) == pytest.approx(1.0, rel=1e-15)
    assert np.linalg.norm(torch_like) == pytest.approx(5 / (5 + 1e-6), rel=1e-15)
    assert np.linalg.norm(torch_like) < np.linalg.norm(pascanu)
    np.testing.assert_array_equal(clipping.clip_by_global_norm(g, 10.0)[0], g)  # short: unchanged
    assert g.tolist() == [3.0, 4.0]  # the input is not modified


def test_clipping_by_norm_keeps_the_direction_and_by_value_does_not():
    g = np.array([10.0, 0.1])
    by_norm, _ = clipping.clip_by_global_norm(g, 1.0)
    by_value = clipping.clip_by_value(g, 1.0)
    assert by_norm[0] * g[1] - by_norm[1] * g[0] == pytest.approx(0.0, abs=1e-15)
    assert by_value.tolist() == [1.0, 0.1]


def test_train_clips_every_minibatch_gradient():
    d = data.linear(n=20, p=2, seed=0)
    m = models.LinearRegression(2)
    theta0 = 30 * np.ones(m.n_params)
    for clip in (clipping.ByGlobalNorm(0.5), clipping.ByValue(0.2)):
        r = gdlib.train(m, gdlib.SGD(eta=0.1), d, epochs=5, batch_size="full", theta0=theta0, clip=clip)
        theta = theta0.copy()
        for _ in range(5):
            g = m.gradient(theta, d.X_train, d.y_train)
            g = (clipping.clip_by_global_norm(g, 0.5)[0] if isinstance(clip, clipping.ByGlobalNorm)
                 else clipping.clip_by_value(g, 0.2))
            theta -= 0.1 * g
        np.testing.assert_allclose(r.theta, theta, rtol=1e-13)


@pytest.mark.parametrize("call, error, words", [
    (lambda: clipping.clip_by_value(np.ones(3), 0.0), ValueError, "c must be > 0"),
    (lambda: clipping.clip_by_global_norm(np.ones(3), -1.0), ValueError, "max_norm must be > 0"),
    (lambda: clipping.clip_by_global_norm([np.ones(2), np.array([np.nan])], 1.0), ValueError, "non-finite"),
    (lambda: clipping.clip_by_global_norm([np.ones(2), [1.0]], 1.0), TypeError, "grads[1] must be a NumPy array"),
    (lambda: clipping.clip_by_value([], 1.0), TypeError, "non-empty list"),
    (lambda: clipping.clip_by_value(np.ones(3, dtype=int), 1.0), TypeError, "float32 or float64"),
    (lambda: gdlib.train(models.LinearRegression(2), gdlib.SGD(), data.linear(n=20, p=2, seed=0),
                                 batch_size="full", clip=1.0),
     TypeError, "ByGlobalNorm"),
])
def test_bad_clipping_input_says_what_to_fix(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


# Both compiled twins (gdlib._numba.twins), in the style of tests/test_twins.py: the threshold
# GDLIB_PARALLEL_MIN_SIZE is set to 0 (every array takes the parallel twin) or 10^9 (the serial one).
PARALLEL, SERIAL = 0, 10**9


def _in_place_on_both_twins(kernel, g, *args):
    """{twin: a copy of g after the twin's in-place kernel(g, *args)}."""
    out = {}
    for twin in ("serial", "parallel"):
        out[twin] = g.copy()
        getattr(kernel, twin)(out[twin], *args)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_twins_agree_with_each_other_and_numpy(dtype):
    g = (100 * np.random.default_rng(3).standard_normal(10_007)).astype(dtype)
    clipped = _in_place_on_both_twins(clipping.clip_value_kernel, g, 5.0)
    np.testing.assert_array_equal(clipped["serial"], clipped["parallel"])
    np.testing.assert_array_equal(clipped["serial"], np.clip(g, dtype(-5.0), dtype(5.0)))
    exact = math.fsum(x * x for x in g.astype(np.float64).tolist())
    for min_size in (PARALLEL, SERIAL):  # one order of the sum (gdlib.norms): the same bits on either path
        assert norms.sum_of_squares(g, min_size) == norms.sum_of_squares(g, SERIAL)
        assert norms.sum_of_squares(g, min_size) == pytest.approx(exact, rel=1e-13)
    scaled = _in_place_on_both_twins(clipping.scale_kernel, g, 0.37)
    np.testing.assert_array_equal(scaled["serial"], scaled["parallel"])
    np.testing.assert_array_equal(scaled["serial"], (g.astype(np.float64) * 0.37).astype(dtype))


@pytest.mark.parametrize("threshold", [PARALLEL, SERIAL])
@pytest.mark.parametrize("scale", [0.01, 100.0])
def test_either_twin_matches_torch(threshold, scale, monkeypatch):
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    layers = _layers(2, scale)
    for a, b in zip(clipping.clip_by_value(layers, 0.5), _torch_clip(layers, "value", 0.5)[0]):
        np.testing.assert_array_equal(a, b)
    ours, norm = clipping.clip_by_global_norm(layers, 1.0, eps=1e-6)
    theirs, torch_norm = _torch_clip(layers, "norm", 1.0)
    assert norm == pytest.approx(torch_norm, rel=1e-15)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_norm_has_the_same_bits_on_either_twin_and_any_number_of_threads(dtype):
    """The blocked sum (gdlib.norms): fixed blocks added in order, whichever path and however many threads."""
    g = np.random.default_rng(0).standard_normal(1_000_003).astype(dtype)
    threads = numba.get_num_threads()
    norms_by = {}
    try:
        for n in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(n)
            norms_by[n] = (clipping.global_norm(g), norms.norm(g, PARALLEL), norms.norm(g, SERIAL))
    finally:
        numba.set_num_threads(threads)
    values = {x for triple in norms_by.values() for x in triple}
    assert len(values) == 1, norms_by
    assert values.pop() == pytest.approx(math.sqrt(math.fsum(x * x for x in g.astype(np.float64).tolist())), rel=1e-13)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
@pytest.mark.parametrize("threshold", [PARALLEL, SERIAL])
def test_clip_by_norm_where_the_squares_overflow_or_underflow(scale, threshold, monkeypatch):
    """Σ g² overflows to inf at g ~ 10^200 (a clipped g of 0 before) and underflows to 0 at
    10^-200 (no clipping before): the norm is rescaled (gdlib.norms), as math.hypot's is."""
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    layers = [scale * g for g in _layers(4, 1.0)]
    exact = math.hypot(*np.concatenate([g.ravel() for g in layers]))
    tau = 1e-3 * exact
    clipped, norm = clipping.clip_by_global_norm(layers, tau)
    assert norm == pytest.approx(exact, rel=1e-14) and clipping.global_norm(layers) == norm
    assert math.hypot(*np.concatenate([g.ravel() for g in clipped])) == pytest.approx(tau, rel=1e-14)
    for c, g in zip(clipped, layers):
        np.testing.assert_allclose(c, g * (tau / exact), rtol=1e-14, atol=0)  # the same direction
    # inside gdlib.train's loop: the kernel on one flat gradient (one norm, not a norm of the layers' norms)
    flat = np.concatenate([g.ravel() for g in layers])
    clip = clipping.ByGlobalNorm(tau)
    clipping.clip_kernel(clip.kind, clip.params, flat)
    np.testing.assert_allclose(flat, np.concatenate([c.ravel() for c in clipped]), rtol=1e-14, atol=0)


def test_train_clips_alike_on_either_twin(monkeypatch):
    d = data.linear(n=20, p=2, seed=0)
    m = models.LinearRegression(2)
    ends = {}
    for threshold in (PARALLEL, SERIAL):
        monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
        for clip in (clipping.ByGlobalNorm(0.5), clipping.ByValue(0.2)):
            assert clip.params[-1] == threshold  # read when the clip is created
            r = gdlib.train(m, gdlib.SGD(eta=0.1), d, epochs=5, batch_size="full",
                            theta0=30 * np.ones(m.n_params), clip=clip)
            ends[threshold, type(clip).__name__] = r.theta
    for kind in ("ByGlobalNorm", "ByValue"):
        np.testing.assert_array_equal(ends[PARALLEL, kind], ends[SERIAL, kind])  # the same norm, bit for bit
        assert not np.array_equal(ends[PARALLEL, kind], 30 * np.ones(m.n_params))
