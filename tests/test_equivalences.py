"""Hand-computed first steps and the equivalences the book relies on."""

import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence
from objectives import rosenbrock_gradient, rosenbrock_gradient_numpy


def one_step(opt, theta0, g):
    theta = np.array(theta0, dtype=np.float64)
    state = opt.init(theta)
    opt.step(theta, np.array(g, dtype=np.float64), state)
    return theta, state


# ---------------------------------------------------------------- first steps
def test_sgd_first_step():
    theta, _ = one_step(gdlib.SGD(eta=0.1), [1.0, -2.0], [0.5, -4.0])
    np.testing.assert_allclose(theta, [1.0 - 0.05, -2.0 + 0.4], rtol=1e-15)


def test_momentum_two_steps_by_hand():
    opt = gdlib.Momentum(eta=0.1, gamma=0.9)
    theta = np.array([1.0])
    state = opt.init(theta)
    opt.step(theta, np.array([2.0]), state)  # v1 = 0.1·2 = 0.2, θ1 = 0.8
    assert state.v[0] == pytest.approx(0.2, rel=1e-15) and theta[0] == pytest.approx(0.8, rel=1e-15)
    opt.step(theta, np.array([1.0]), state)  # v2 = 0.9·0.2 + 0.1·1 = 0.28, θ2 = 0.52
    assert state.v[0] == pytest.approx(0.28, rel=1e-15) and theta[0] == pytest.approx(0.52, rel=1e-15)


def test_adagrad_first_step():
    g, eps = 3.0, 1e-8
    theta, state = one_step(gdlib.Adagrad(eta=0.01, eps=eps), [0.0], [g])
    assert state.G[0] == 9.0
    assert theta[0] == pytest.approx(-0.01 * g / np.sqrt(9.0 + eps), rel=1e-15)


def test_adadelta_first_step_is_sqrt_eps_over_rms_g():
    g, gamma, eps = 2.0, 0.9, 1e-6
    theta, state = one_step(gdlib.Adadelta(gamma=gamma, eps=eps), [0.0], [g])
    delta = -np.sqrt(eps) / np.sqrt((1 - gamma) * g * g + eps) * g
    assert theta[0] == pytest.approx(delta, rel=1e-14)
    assert state.Edelta2[0] == pytest.approx((1 - gamma) * delta * delta, rel=1e-14)


def test_rmsprop_first_step():
    g = -0.5
    theta, _ = one_step(gdlib.RMSprop(eta=0.001, gamma=0.9, eps=1e-8), [0.0], [g])
    assert theta[0] == pytest.approx(-0.001 * g / np.sqrt(0.1 * g * g + 1e-8), rel=1e-14)


@pytest.mark.parametrize("g", [0.5, -3.0, 1e-3])
def test_adam_first_step_is_eta_times_sign(g):
    # m̂_1 = g and v̂_1 = g², so the first step is η g / (|g| + ε).
    eta, eps = 0.1, 1e-8
    theta, state = one_step(gdlib.Adam(eta=eta, eps=eps), [1.0], [g])
    assert theta[0] == pytest.approx(1.0 - eta * g / (abs(g) + eps), rel=1e-14)
    assert state.m[0] == pytest.approx(0.1 * g, rel=1e-14)
    assert state.v[0] == pytest.approx(0.001 * g * g, rel=1e-12)


def test_adamax_first_step_is_eta_times_sign():
    theta, state = one_step(gdlib.AdaMax(eta=0.002), [0.0], [-7.0])
    assert state.u[0] == 7.0
    assert theta[0] == pytest.approx(0.002, rel=1e-14)


def test_adamax_all_zero_gradient_takes_no_step_instead_of_nan():
    opt = gdlib.AdaMax()
    theta = np.array([1.0, 2.0])
    state = opt.init(theta)
    for _ in range(3):
        opt.step(theta, np.array([0.0, 1.0]), state)
    assert theta[0] == 1.0 and np.isfinite(theta).all()


def test_nadam_seed_first_step():
    # m̂_1 = g: θ_1 = θ_0 − η (β1 g + (1 − β1) g / (1 − β1)) / (|g| + ε) = θ_0 − η (1 + β1) g / (|g| + ε)
    g, eta, eps = 2.0, 0.002, 1e-8
    theta, _ = one_step(gdlib.Nadam(eta=eta, eps=eps), [0.0], [g])
    assert theta[0] == pytest.approx(-eta * 1.9 * g / (g + eps), rel=1e-14)


def test_amsgrad_first_step_without_bias_correction():
    g, eta, eps = 2.0, 0.01, 1e-8
    theta, state = one_step(gdlib.AMSGrad(eta=eta, eps=eps), [0.0], [g])
    assert state.v_hat[0] == state.v[0]
    assert theta[0] == pytest.approx(-eta * 0.1 * g / (np.sqrt(0.001) * g + eps), rel=1e-14)


# ---------------------------------------------------------------- equivalences
def test_momentum_with_gamma_zero_is_plain_gradient_descent(rng):
    grads = gradient_sequence(rng, 30, 16, np.float64)
    theta_m = rng.standard_normal(16)
    theta_s = theta_m.copy()
    mom, sgd = gdlib.Momentum(eta=0.05, gamma=0.0), gdlib.SGD(eta=0.05)
    sm, ss = mom.init(theta_m), sgd.init(theta_s)
    for g in grads:
        mom.step(theta_m, g, sm)
        sgd.step(theta_s, g, ss)
    np.testing.assert_array_equal(theta_m, theta_s)


def test_momentum_eta_inside_and_outside_give_the_same_path(rng):
    grads = gradient_sequence(rng, 30, 16, np.float64)
    a, b = rng.standard_normal(16), None
    b = a.copy()
    inside, outside = gdlib.Momentum(eta=0.05), gdlib.Momentum(eta=0.05, eta_inside_velocity=False)
    sa, sb = inside.init(a), outside.init(b)
    for g in grads:
        inside.step(a, g, sa)
        outside.step(b, g, sb)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(a).max())
    np.testing.assert_allclose(sa.v, 0.05 * sb.v, rtol=1e-12, atol=1e-12 * np.abs(sa.v).max())


@pytest.mark.parametrize("eta_inside_velocity", [True, False])
def test_nesterov_forms_are_one_algorithm_under_the_change_of_variables(eta_inside_velocity):
    """Seed NAG in θ, framework NAG in φ = θ − γ v: on Rosenbrock, φ_t = θ_t − γ v_t."""
    eta, gamma = 1e-4, 0.9
    seed = gdlib.Nesterov(eta=eta, gamma=gamma, form="lookahead", eta_inside_velocity=eta_inside_velocity)
    shifted = gdlib.Nesterov(eta=eta, gamma=gamma, form="shifted", eta_inside_velocity=eta_inside_velocity)
    theta = np.array([-1.2, 1.0])
    phi = theta.copy()  # v_0 = 0, so φ_0 = θ_0
    s_seed, s_shift = seed.init(theta), shifted.init(phi)
    v_scale = 1.0 if eta_inside_velocity else eta
    for _ in range(500):
        seed.step(theta, rosenbrock_gradient_numpy(seed.lookahead(theta, s_seed)), s_seed)
        shifted.step(phi, rosenbrock_gradient_numpy(shifted.lookahead(phi, s_shift)), s_shift)
        np.testing.assert_allclose(phi, theta - gamma * v_scale * s_seed.v, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(s_shift.v, s_seed.v, rtol=1e-12, atol=1e-13)
    # and it went somewhere: the comparison is not between two standing points
    assert np.linalg.norm(theta - [-1.2, 1.0]) > 0.1


def test_nesterov_seed_form_differs_from_momentum_only_in_the_gradient_point():
    eta, gamma = 1e-4, 0.9
    nag, mom = gdlib.Nesterov(eta=eta, gamma=gamma), gdlib.Momentum(eta=eta, gamma=gamma)
    a, b = np.array([-1.2, 1.0]), np.array([-1.2, 1.0])
    sa, sb = nag.init(a), mom.init(b)
    for _ in range(200):
        nag.step(a, rosenbrock_gradient_numpy(nag.lookahead(a, sa)), sa)
        mom.step(b, rosenbrock_gradient_numpy(b), sb)
    assert not np.allclose(a, b, rtol=1e-6)  # the look-ahead changes the path ...
    c = np.array([-1.2, 1.0])
    sc = mom.init(c)
    sa = nag.init(a := np.array([-1.2, 1.0]))
    for _ in range(200):  # ... and momentum fed the look-ahead gradient is exactly NAG
        nag.step(a, rosenbrock_gradient_numpy(nag.lookahead(a, sa)), sa)
        mom.step(c, rosenbrock_gradient_numpy(c - gamma * sc.v), sc)
    np.testing.assert_array_equal(a, c)


def test_adam_without_first_moment_or_correction_is_rmsprop_with_eps_outside(rng):
    grads = gradient_sequence(rng, 40, 32, np.float64)
    a = rng.standard_normal(32)
    b = a.copy()
    adam = gdlib.Adam(eta=0.01, beta1=0.0, beta2=0.95, eps=1e-8, bias_correction=False)
    rms = gdlib.RMSprop(eta=0.01, gamma=0.95, eps=1e-8, eps_inside_sqrt=False)
    sa, sb = adam.init(a), rms.init(b)
    for g in grads:
        adam.step(a, g, sa)
        rms.step(b, g, sb)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13 * np.abs(a).max())
    np.testing.assert_allclose(sa.v, sb.Eg2, rtol=1e-13)


def test_amsgrad_effective_step_size_never_increases(rng):
    opt = gdlib.AMSGrad(eta=0.01)
    theta = rng.standard_normal(64)
    state = opt.init(theta)
    previous = np.full(64, np.inf)
    # gradients whose size swings up and down, where Adam's step size would grow back
    for t in range(200):
        g = rng.standard_normal(64) * (10.0 if t % 50 == 0 else 0.1)
        opt.step(theta, g, state)
        effective = opt.eta / (np.sqrt(state.v_hat) + opt.eps)
        assert np.all(effective <= previous)
        previous = effective
    adam_effective = opt.eta / (np.sqrt(state.v) + opt.eps)
    assert np.any(adam_effective > effective)  # v_t itself did fall back


def _adam_lp_denominator(grads, beta2, p):
    """(v_t)^{1/p} for v_t = β2^p v_{t−1} + (1 − β2^p)|g_t|^p, in log space (exact for large p)."""
    log_v = np.full(grads.shape[1], -np.inf)
    for g in grads:
        log_terms = np.stack([p * np.log(beta2) + log_v,
                              np.log1p(-(beta2**p)) + p * np.log(np.abs(g))])
        log_v = np.logaddexp.reduce(log_terms, axis=0)
    return np.exp(log_v / p)


def test_adamax_is_the_limit_of_adam_lp_as_p_grows(rng):
    grads = rng.standard_normal((25, 16)) * 10.0 ** rng.uniform(-2, 2, size=16)
    opt = gdlib.AdaMax(beta2=0.9)
    theta = np.zeros(16)
    state = opt.init(theta)
    for g in grads:
        opt.step(theta, g, state)
    errors = [np.max(np.abs(_adam_lp_denominator(grads, 0.9, p) / state.u - 1)) for p in (2, 8, 32, 128, 512)]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:]))
    assert errors[-1] < 0.02
