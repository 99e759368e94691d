"""gdlib.optim.nadam.coefficients: the b_t, a_t, c_t of each Nadam form, against the formulas of the
module docstring written independently in NumPy (Dozat's schedule and its running product by cumprod),
and against the step gdlib.Nadam actually takes."""

import numpy as np
import pytest

import gdlib
from gdlib.optim.nadam import FORMS, coefficients


def _by_formula(form, n, beta1, psi):
    t = np.arange(1, n + 1, dtype=np.float64)
    mu_all = beta1 * (1 - 0.5 * 0.96 ** (np.arange(1, n + 2) * psi))   # μ_1 … μ_{n+1}
    prod = np.cumprod(mu_all)                                          # Π_1 … Π_{n+1}
    mu, mu_next = mu_all[:-1], mu_all[1:]
    if form == "seed":
        return np.full(n, beta1), beta1 / (1 - beta1**t), (1 - beta1) / (1 - beta1**t)
    if form == "optax":
        return np.full(n, beta1), beta1 / (1 - beta1 ** (t + 1)), (1 - beta1) / (1 - beta1**t)
    a, c = mu_next / (1 - prod[1:]), (1 - mu) / (1 - prod[:-1])
    return (mu if form == "dozat" else np.full(n, beta1)), a, c


@pytest.mark.parametrize("beta1, psi", [(0.9, 0.004), (0.8, 0.02)])
@pytest.mark.parametrize("form", FORMS)
def test_coefficients_match_the_formulas(form, beta1, psi):
    t = np.arange(1, 2001)
    ours = coefficients(form, t, beta1=beta1, momentum_decay=psi)
    for got, want in zip(ours, _by_formula(form, 2000, beta1, psi)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    single = coefficients(form, 7, beta1=beta1, momentum_decay=psi)
    assert (single.b, single.a, single.c) == (ours.b[6], ours.a[6], ours.c[6])


@pytest.mark.parametrize("form", FORMS)
def test_coefficients_are_the_ones_the_step_uses(form):
    rng = np.random.default_rng(0)
    opt = gdlib.Nadam(eta=0.01, form=form)
    theta = rng.standard_normal(5)
    state = opt.init(theta)
    for t in range(1, 13):
        g, before, m_before = rng.standard_normal(5), theta.copy(), state.m.copy()
        opt.step(theta, g, state)
        b, a, c = coefficients(form, t)
        np.testing.assert_allclose(state.m, b * m_before + (1 - b) * g, rtol=1e-14)
        v_hat = state.v / (1 - 0.999**t)
        np.testing.assert_allclose(before - theta, 0.01 * (a * state.m + c * g) / (np.sqrt(v_hat) + 1e-8),
                                   rtol=1e-12, atol=1e-15)  # θ − θ_new loses ~1 ulp of θ


@pytest.mark.parametrize("kwargs, words", [
    (dict(form="keras", t=1), "form"),
    (dict(form="seed", t=0), "t must be a step number"),
    (dict(form="seed", t=np.array([1.5])), "t must be a step number"),
    (dict(form="seed", t=3, beta1=1.0), "beta1"),
])
def test_bad_coefficient_input_says_what_to_fix(kwargs, words):
    with pytest.raises(ValueError, match=words):
        coefficients(**kwargs)


def test_coefficients_cap_the_step_number_with_a_clear_error():
    """coefficients walks every step from 1 to t (Π_t is a running product): t = 10^12 raised a
    MemoryError (a table of every step) before the cap; now it says the limit and why."""
    from gdlib.optim.nadam import MAX_STEP

    with pytest.raises(ValueError, match=f"at most {MAX_STEP:,}.*walks every step"):
        coefficients("dozat", 10**12)
    with pytest.raises(ValueError, match="at most"):
        coefficients("seed", np.array([3, MAX_STEP + 1]))


@pytest.mark.parametrize("form", FORMS)
def test_coefficients_keep_the_shape_and_order_of_t(form):
    t = np.array([[7, 1], [7, 3]])
    got = coefficients(form, t)
    table = coefficients(form, np.arange(1, 8))
    for field, column in zip(got, table):
        assert field.shape == (2, 2)
        np.testing.assert_array_equal(field, column[t - 1])
