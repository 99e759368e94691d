"""LARS and LAMB: float64 parity with optax on a multi-layer θ, the conventions
that differ, and training through the compiled epoch.

torch.optim has neither LARS nor LAMB, so optax (0.2.8) is the outside oracle.
optax works on a tree of arrays, one trust ratio per leaf; gdlib on one flat θ
with ``gdlib.Layers``, one trust ratio per segment. With a segment per leaf
(``MLP.layers()`` gives one per W, b) and the same masks, the updates agree.
"""

import math

import numba
import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jax.config.update("jax_enable_x64", True)

#: per entry, over every step: the norms are summed in another order (numpy/XLA vs a serial loop),
#: and the momentum carries those last-bit differences forward
TOL = 5e-12
MODEL = gdlib.models.MLP(7, 3, hidden=(6, 5))


def _run_both(opt, tx, layers, n_steps=60, seed=3):
    """Step gdlib's ``opt`` and optax's ``tx`` on the same gradients; return
    the largest relative difference of θ over all steps (per entry, entries below 1e-6 judged on 1e-6) and both final states."""
    rng = np.random.default_rng(seed)
    theta = MODEL.init_params(seed=1)
    grads = gradient_sequence(rng, n_steps, theta.size, np.float64)
    cuts = layers.offsets
    tree = tuple(jax.numpy.asarray(theta[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))
    state, ostate = opt.init(theta), tx.init(tree)
    update = jax.jit(tx.update)
    worst = 0.0
    for g in grads:
        opt.step(theta, g, state)
        gtree = tuple(jax.numpy.asarray(g[a:b]) for a, b in zip(cuts[:-1], cuts[1:]))
        updates, ostate = update(gtree, ostate, tree)
        tree = optax.apply_updates(tree, updates)
        flat = np.concatenate([np.asarray(x) for x in tree])
        worst = max(worst, float(np.max(np.abs(theta - flat) / np.maximum(np.abs(flat), 1e-6))))
    return worst, theta, state, ostate


@pytest.mark.parametrize("nesterov", [False, True])
def test_lars_optax_form_matches_optax_lars(nesterov):
    layers = MODEL.layers()  # biases: no decay, no trust ratio
    mask = tuple(bool(f) for f in layers.trust)
    opt = gdlib.LARS(eta=3.0, gamma=0.9, weight_decay=1e-3, trust_coefficient=0.01, eps=1e-9,
                     nesterov=nesterov, form="optax", layers=layers)
    tx = optax.lars(3.0, weight_decay=1e-3, weight_decay_mask=mask, trust_coefficient=0.01, eps=1e-9,
                    trust_ratio_mask=mask, momentum=0.9, nesterov=nesterov)
    worst, _, state, ostate = _run_both(opt, tx, layers)
    assert worst < TOL, worst
    trace = np.concatenate([np.asarray(x) for x in ostate[3].trace])
    np.testing.assert_allclose(state.v, -trace, rtol=1e-12, atol=1e-15)  # gdlib keeps v = −optax's trace


def test_lars_paper_form_differs_from_optax_only_through_weight_decay():
    """The paper divides by ‖g‖ + λ‖θ‖, optax by ‖g + λθ‖ (smaller, by the triangle
    inequality): equal with λ = 0, and a measurably different path with λ > 0."""
    layers = MODEL.layers(adapt_biases=True)
    for lam in (0.0, 0.05):
        kw = dict(eta=3.0, weight_decay=lam, trust_coefficient=0.01, layers=layers)
        paper, optax_form = gdlib.LARS(**kw), gdlib.LARS(form="optax", **kw)
        tx = optax.lars(3.0, weight_decay=lam, trust_coefficient=0.01, momentum=0.9)
        worst_paper, *_ = _run_both(paper, tx, layers, n_steps=20)
        worst_optax, *_ = _run_both(optax_form, tx, layers, n_steps=20)
        assert worst_optax < TOL
        if lam == 0.0:
            assert worst_paper < TOL
        else:
            assert worst_paper > 1e-6, worst_paper


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_lamb_matches_optax_lamb(weight_decay):
    layers = MODEL.layers(adapt_biases=True)
    decay = np.array([name.startswith("W") for name in layers.names])
    layers = gdlib.Layers(layers.offsets, decay=decay, trust=True)  # optax's mask is for the decay only
    opt = gdlib.LAMB(eta=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=weight_decay, layers=layers)
    tx = optax.lamb(0.01, b1=0.8, b2=0.99, eps=1e-6, weight_decay=weight_decay, mask=tuple(bool(d) for d in decay))
    worst, _, state, ostate = _run_both(opt, tx, layers)
    assert worst < TOL, worst
    np.testing.assert_allclose(state.m, np.concatenate([np.asarray(x) for x in ostate[0].mu]), rtol=1e-12)
    np.testing.assert_allclose(state.v, np.concatenate([np.asarray(x) for x in ostate[0].nu]), rtol=1e-12)


def test_zero_norm_layer_takes_a_trust_ratio_of_one():
    """A layer at θ_l = 0 (a bias at start) moves by η u, not by 0: optax's convention."""
    layers = gdlib.Layers([0, 2, 4])
    theta, g = np.array([0.0, 0.0, 3.0, 4.0]), np.array([1.0, 2.0, 1.0, 1.0])
    opt = gdlib.LARS(eta=0.5, gamma=0.0, trust_coefficient=0.001, layers=layers)
    opt.step(theta, g, opt.init(theta))
    np.testing.assert_allclose(theta[:2], [-0.5, -1.0])  # ratio 1
    np.testing.assert_allclose(theta[2:], [3.0, 4.0] - 0.5 * 0.001 * 5.0 / np.sqrt(2.0) * np.ones(2))


def test_each_layer_moves_by_eta_times_its_norm_in_lamb():
    """LAMB's step of layer l has norm η ‖θ_l‖, whatever the gradient's scale."""
    layers = MODEL.layers(adapt_biases=True)
    theta = MODEL.init_params(seed=2)
    for a, b, _, _ in layers.segments():
        theta[a:b] += 0.1  # no layer at zero (there the ratio is 1: see the test above)
    before = theta.copy()
    g = np.random.default_rng(0).standard_normal(theta.size) * np.repeat([1e-4, 1e2, 1.0, 1e3, 1.0, 10.0],
                                                                        np.diff(layers.offsets))
    opt = gdlib.LAMB(eta=0.01, layers=layers)
    opt.step(theta, g, opt.init(theta))
    for a, b, _, _ in layers.segments():
        assert np.linalg.norm(theta[a:b] - before[a:b]) == pytest.approx(0.01 * np.linalg.norm(before[a:b]), rel=1e-12)


def test_lamb_trust_ratios_are_the_ratios_lamb_steps_with():
    """gdlib.optim.lamb.trust_ratios (the graded question's reference) gives the r_l of LAMB's step:
    after one step from zero moments, m̂ = g and v̂ = g², so u = g / (|g| + ε) + λθ (written here from
    the paper) and θ_l moves by η r_l u_l; a layer at zero (the biases at start) takes r_l = 1."""
    from gdlib.optim.lamb import trust_ratios

    layers = MODEL.layers(adapt_biases=True)
    theta = MODEL.init_params(seed=4)
    g = np.random.default_rng(5).standard_normal(theta.size)
    eta, eps, lam = 0.01, 1e-6, 0.05
    u = g / (np.abs(g) + eps) + lam * theta
    cuts = list(zip(layers.offsets[:-1], layers.offsets[1:]))
    ratios = trust_ratios([theta[a:b] for a, b in cuts], [u[a:b] for a, b in cuts])
    assert ratios[1] == 1.0 and np.all(ratios[::2] < 1.0)  # b1 = 0; the W are far shorter than u
    before = theta.copy()
    opt = gdlib.LAMB(eta=eta, eps=eps, weight_decay=lam, layers=layers)
    opt.step(theta, g, opt.init(theta))
    for (a, b), r in zip(cuts, ratios):
        np.testing.assert_allclose(theta[a:b], before[a:b] - eta * r * u[a:b], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="one update per layer"):
        trust_ratios([theta[:3]], [u[:3], u[3:5]])
    with pytest.raises(ValueError, match="shape"):
        trust_ratios([theta[:3]], [u[:4]])
    with pytest.raises(ValueError, match="finite"):
        trust_ratios([np.array([1.0, np.nan])], [np.ones(2)])


@pytest.mark.parametrize("make", [lambda L: gdlib.LARS(eta=2.0, weight_decay=1e-4, layers=L),
                                  lambda L: gdlib.LAMB(eta=0.01, layers=L)], ids=["lars", "lamb"])
def test_train_runs_them_through_the_compiled_epoch(make):
    data = gdlib.data.digits()
    model = gdlib.models.MLP(64, 10, hidden=(16,))
    run = gdlib.train(model, make(model.layers()), data, epochs=3, batch_size=64, seed=0)
    loss = run.history.train_loss
    assert run.status == "ok" and run.steps > 0 and run.state.t == run.steps
    assert loss[-1] < 0.8 * loss[0], loss


def test_models_give_one_segment_per_weight_bias_and_batchnorm_vector():
    mlp = gdlib.models.MLP(4, 3, hidden=(5,), batchnorm=True)
    layers = mlp.layers()
    assert layers.names == ("W1", "b1", "gamma1", "beta1", "W2", "b2")
    assert np.diff(layers.offsets).tolist() == [20, 5, 5, 5, 15, 3] and layers.size == mlp.n_params
    assert layers.trust.tolist() == layers.decay.tolist() == [True, False, False, False, True, False]
    assert mlp.layers(adapt_biases=True).trust.all()
    soft = gdlib.models.SoftmaxRegression(4, 3).layers()
    assert soft.offsets.tolist() == [0, 12, 15] and soft.decay.tolist() == [True, False]


def _several_blocks(dtype):
    """θ of three layers, the first spanning several blocks of the blocked norms
    (``gdlib._numba.REDUCTION_BLOCK``) and ending inside one; the last's trust flag off."""
    block = gdlib._numba.REDUCTION_BLOCK
    layers = gdlib.Layers([0, 3 * block + 17, 3 * block + 40, 4 * block + 41], trust=[True, True, False])
    rng = np.random.default_rng(5)
    return layers, rng.standard_normal(layers.size).astype(dtype), rng.standard_normal((4, layers.size)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [lambda l: gdlib.LARS(layers=l, weight_decay=0.01),
                                  lambda l: gdlib.LAMB(layers=l, weight_decay=0.01)], ids=["LARS", "LAMB"])
def test_blocked_norms_agree_between_twins_and_with_numpy(make, dtype, monkeypatch):
    """The norms are summed block by block (in SIMD lanes, in parallel in the parallel twin):
    both twins give the same bits, and the ratios agree with NumPy's norms in float64."""
    layers, theta0, grads = _several_blocks(dtype)
    runs = []
    for threshold in (0, 10**9):
        monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
        opt, theta = make(layers), theta0.copy()
        state = opt.init(theta)
        for g in grads:
            opt.step(theta, g, state)
        runs.append((theta, state.buffer.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    # one LARS step from θ0 against the trust ratio computed with NumPy (paper form, γ v_0 = 0)
    opt, theta = gdlib.LARS(layers=layers, weight_decay=0.01), theta0.copy()
    opt.step(theta, grads[0], opt.init(theta))
    for (lo, hi, _, trust) in layers.segments():
        t64, g64 = theta0[lo:hi].astype(np.float64), grads[0][lo:hi].astype(np.float64)
        r = 0.001 * np.linalg.norm(t64) / (np.linalg.norm(g64) + 0.01 * np.linalg.norm(t64)) if trust else 1.0
        expected = t64 - r * (g64 + 0.01 * t64)
        np.testing.assert_allclose(theta[lo:hi], expected, rtol=0, atol=4 * np.finfo(dtype).eps * np.abs(expected).max())


@pytest.mark.parametrize("where", [0, -1])  # a layer whose norms are summed; the one whose trust flag is off
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_lars_check_in_its_norms_pass_rejects_before_any_update(where, bad):
    layers, theta0, grads = _several_blocks(np.float64)
    opt, theta = gdlib.LARS(layers=layers), theta0.copy()
    state = opt.init(theta)
    g = grads[0].copy()
    g[[where, 5]] = [bad, -bad]
    with pytest.raises(ValueError, match="2 NaN or infinite"):
        opt.step(theta, g, state)
    assert state.t == 0 and np.array_equal(theta, theta0) and not state.v.any()
    g = grads[0] * 1e160  # finite, but Σg² overflows: counted entry by entry, then stepped with the true ‖g_l‖
    opt.step(theta, g, state)
    assert state.t == 1 and np.all(np.isfinite(theta))
    for lo, hi, _, trust in layers.segments():  # first step, λ = 0: a layer moves by η c ‖θ_l‖, whatever ‖g_l‖
        moved = math.hypot(*(theta[lo:hi] - theta0[lo:hi]))
        assert moved == pytest.approx(0.001 * math.hypot(*theta0[lo:hi]) if trust else math.hypot(*g[lo:hi]), rel=1e-12)


def _first_step(make, theta0, g, threshold, monkeypatch):
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    opt, theta = make(), theta0.copy()
    opt.step(theta, g, opt.init(theta))
    return theta0 - theta


#: (dtype, scale): where Σx² in float64 overflows (10^160, 10^200) or underflows (10^-160, 10^-200); float32
#: entries are squared in float64, where they cannot overflow: their cases check the same invariance
SCALES = [(np.float64, 1e160), (np.float64, 1e-160), (np.float64, 1e200), (np.float64, 1e-200),
          (np.float32, 1e30), (np.float32, 1e-30)]


@pytest.mark.parametrize("dtype, scale", SCALES)
@pytest.mark.parametrize("form", ["paper", "optax"])
@pytest.mark.parametrize("threshold", [0, 10**9])
def test_lars_step_is_scale_invariant_where_the_squares_overflow_or_underflow(dtype, scale, form, threshold,
                                                                            monkeypatch):
    """r_t = c‖θ‖/(‖g‖ + λ‖θ‖) does not change when g is scaled (λ = 0): the update η r g is the
    same at g × s as at g. With θ and g both scaled (λ > 0), r is the same and the update scales
    by s. Before the norms were rescaled, g × 10^160 gave ‖g‖ = inf and a step of 0, and
    θ ~ 10^200 with λ > 0 a NaN θ."""
    layers, theta0, grads = _several_blocks(dtype)
    trusted = np.concatenate([np.arange(lo, hi) for lo, hi, _, trust in layers.segments() if trust])
    s = dtype(scale)
    plain = lambda: gdlib.LARS(form=form, layers=layers)  # noqa: E731
    step = _first_step(plain, theta0, grads[0], threshold, monkeypatch)
    scaled = _first_step(plain, theta0, grads[0] * s, threshold, monkeypatch)
    close = dict(rtol=0, atol=8 * np.finfo(dtype).eps * np.abs(theta0).max())  # θ's last bit, in a step of ~c θ
    np.testing.assert_allclose(scaled[trusted], step[trusted], **close)
    decayed = lambda: gdlib.LARS(form=form, weight_decay=0.01, layers=layers)  # noqa: E731
    step = _first_step(decayed, theta0, grads[0], threshold, monkeypatch)
    scaled = _first_step(decayed, theta0 * s, grads[0] * s, threshold, monkeypatch)
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled / s, step, **close)


@pytest.mark.parametrize("dtype, scale", SCALES)
@pytest.mark.parametrize("threshold", [0, 10**9])
def test_lamb_step_is_scale_invariant_where_the_squares_overflow_or_underflow(dtype, scale, threshold, monkeypatch):
    """With λ = 0, u = m̂/(√v̂ + ε) does not depend on θ: at θ × s each layer moves by η ‖θ_l‖,
    s times as far as at θ (and ‖u_l‖ underflows at g × 10^-200: m and v, not the norm,
    limit the scale of g, so θ is the one scaled)."""
    layers, theta0, grads = _several_blocks(dtype)
    s = dtype(scale)
    make = lambda: gdlib.LAMB(eta=0.01, layers=layers)  # noqa: E731
    step = _first_step(make, theta0, grads[0], threshold, monkeypatch)
    scaled = _first_step(make, theta0 * s, grads[0], threshold, monkeypatch)
    assert np.all(np.isfinite(scaled))
    trusted = np.concatenate([np.arange(lo, hi) for lo, hi, _, trust in layers.segments() if trust])
    # (the layer whose trust flag is off moves by η u whatever θ: lost in θ's rounding at θ × 10^160)
    np.testing.assert_allclose((scaled / s)[trusted], step[trusted], rtol=0,
                               atol=8 * np.finfo(dtype).eps * np.abs(theta0).max())
    for lo, hi, _, trust in layers.segments():
        if trust:  # η ‖θ_l‖, to θ's last bit in each entry
            assert np.linalg.norm((scaled / s)[lo:hi].astype(np.float64)) == pytest.approx(
                0.01 * np.linalg.norm(theta0[lo:hi].astype(np.float64)), rel=200 * float(np.finfo(dtype).eps))


def test_a_layer_of_tiny_weights_is_not_taken_for_zero():
    """Σθ² underflows to 0 for θ ~ 10^-170: before the rescue, the layer took the zero-layer ratio 1
    (a step of η g, 10^167 times its size) instead of c‖θ‖/‖g‖."""
    theta0, g = np.array([3e-170, -4e-170]), np.array([1.0, 1.0])
    for make, ratio in ((lambda: gdlib.LARS(eta=1.0, gamma=0.0), 0.001 * 5e-170 / np.sqrt(2.0)),
                        (lambda: gdlib.LAMB(eta=1.0, eps=0.0), 5e-170 / np.sqrt(2.0))):
        opt, theta = make(), theta0.copy()
        opt.step(theta, g, opt.init(theta))
        np.testing.assert_allclose(theta, theta0 - ratio * g, rtol=4e-16, atol=0)  # not θ − η g ≈ −1 (r = 1)
    zero = np.zeros(2)  # a layer of zeros still takes the ratio 1
    opt = gdlib.LARS(eta=1.0, gamma=0.0)
    opt.step(zero, g, opt.init(zero))
    np.testing.assert_array_equal(zero, -g)


@pytest.mark.parametrize("specialise", [False, True])
@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
@pytest.mark.parametrize("make", [lambda: gdlib.LARS(eta=1.0, weight_decay=0.01, layers=gdlib.Layers([0, 3, 7])),
                                  lambda: gdlib.LAMB(eta=0.01, layers=gdlib.Layers([0, 3, 7]))], ids=["LARS", "LAMB"])
def test_compiled_run_is_bit_identical_to_python_steps_through_the_rescued_norms(make, scale, specialise):
    theta0 = scale * np.linspace(-1.0, 2.0, 7)
    result = gdlib.run_compiled(make(), _linear_gradient, theta0, 20, specialise=specialise)
    opt, theta = make(), theta0.copy()
    state, g = opt.init(theta), np.empty_like(theta)
    for _ in range(20):
        _linear_gradient(theta, g)
        opt.step(theta, g, state)
    assert result.status == "ok" and np.all(np.isfinite(theta))
    np.testing.assert_array_equal(result.theta, theta)
    np.testing.assert_array_equal(result.state.buffer, state.buffer)


@numba.njit(cache=True)
def _linear_gradient(x, out):
    for i in range(x.size):
        out[i] = (1.0 + i) * x[i]  # ∇ of Σ (1 + i) x_i² / 2, as large as θ


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_trust_ratios_match_the_reference_at_any_scale(scale):
    """gdlib's trust_ratios (blocked, rescued norms) against gdlib.reference's (math.hypot)."""
    from gdlib import reference
    from gdlib.optim.lamb import trust_ratios

    rng = np.random.default_rng(1)
    thetas = [scale * rng.standard_normal(n) for n in (3, 5000, 2)] + [np.zeros(4)]
    updates = [rng.standard_normal(n) for n in (3, 5000, 2, 4)]
    ours, theirs = trust_ratios(thetas, updates), reference.trust_ratios(thetas, updates)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    assert ours[-1] == theirs[-1] == 1.0
    np.testing.assert_allclose(trust_ratios([np.full(4, 1e200)], [np.full(4, 1e200)]), [1.0], rtol=1e-15)


@pytest.mark.parametrize("arguments", [
    ([np.ones(3)], [np.ones(3), np.ones(2)]),
    ([np.ones(3)], [np.ones(4)]),
    ([np.array([1.0, np.nan])], [np.ones(2)]),
    ([["a", "b"]], [np.ones(2)]),
    (3, [np.ones(2)]),
])
def test_both_trust_ratios_reject_bad_input_alike(arguments):
    from gdlib import reference
    from gdlib.optim.lamb import trust_ratios

    errors = []
    for function in (trust_ratios, reference.trust_ratios):
        with pytest.raises((TypeError, ValueError)) as info:
            function(*arguments)
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threshold", [0, 10**9])
def test_lamb_moments_are_exact_inside_the_fused_reduction(dtype, threshold, monkeypatch):
    """LAMB updates m and v in the loop that sums its norms, which Numba compiles with
    ``fastmath={"reassoc"}`` (``jit(reduction=True)``; the flag covers the whole loop).
    m and v must still be the EMAs in θ's dtype, bit for bit, as NumPy computes them."""
    monkeypatch.setenv("GDLIB_PARALLEL_MIN_SIZE", str(threshold))
    layers, theta, grads = _several_blocks(dtype)
    opt = gdlib.LAMB(layers=layers)
    state = opt.init(theta)
    T = dtype
    b1, k1, b2, k2 = T(0.9), T(1.0 - 0.9), T(0.999), T(1.0 - 0.999)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for g in grads:
        opt.step(theta, g, state)
        m, v = b1 * m + k1 * g, b2 * v + k2 * (g * g)
    np.testing.assert_array_equal(state.m, m)
    np.testing.assert_array_equal(state.v, v)
