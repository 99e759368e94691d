"""AdamW against torch.optim.AdamW over many steps, and what decoupling means.

The step-for-step comparison of every optimizer (30 steps, float32 and
float64) is in ``test_torch_oracle.py``; here AdamW runs 400 steps in float64
with a weight decay large enough to dominate, and with a learning-rate
schedule, since the decay uses the scheduled η.
"""

import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence

torch = pytest.importorskip("torch")


def _torch_adamw(theta0, **kwargs):
    param = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    return param, torch.optim.AdamW([param], **kwargs)


@pytest.mark.parametrize("weight_decay", [0.01, 0.5])
def test_adamw_matches_torch_for_400_steps_in_float64(weight_decay, rng):
    size, n_steps = 32, 400
    theta = rng.standard_normal(size)
    param, topt = _torch_adamw(theta, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay)
    opt = gdlib.AdamW(eta=0.02, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=weight_decay)
    state = opt.init(theta)
    for g in gradient_sequence(rng, n_steps, size, np.float64):
        opt.step(theta, g, state)
        param.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state.m, topt.state[param]["exp_avg"].numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state.v, topt.state[param]["exp_avg_sq"].numpy(), rtol=1e-12, atol=1e-15)
    assert state.t == n_steps


def test_adamw_decay_uses_the_scheduled_learning_rate_as_torch_does(rng):
    theta = rng.standard_normal(16)
    param, topt = _torch_adamw(theta, lr=0.1, weight_decay=0.2)
    opt = gdlib.AdamW(eta=0.1, weight_decay=0.2)
    state = opt.init(theta)
    for t in range(1, 201):
        eta_t = 0.1 / (1 + t / 20)
        for group in topt.param_groups:
            group["lr"] = eta_t
        g = rng.standard_normal(16)
        opt.step(theta, g, state, eta=eta_t)
        param.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_decay_is_decoupled_from_the_moments():
    """With a zero gradient, Adam with L2 regularisation would move θ through m and v;
    AdamW shrinks θ by exactly (1 − η λ) per step and leaves m and v at zero."""
    theta = np.array([2.0, -4.0])
    opt = gdlib.AdamW(eta=0.1, weight_decay=0.5)
    state = opt.init(theta)
    for _ in range(3):
        opt.step(theta, np.zeros(2), state)
    np.testing.assert_array_equal(state.m, 0.0)
    np.testing.assert_array_equal(state.v, 0.0)
    np.testing.assert_allclose(theta, np.array([2.0, -4.0]) * 0.95**3, rtol=1e-15)


def test_torch_adam_weight_decay_is_l2_by_default_and_adamw_with_the_flag(rng):
    """frameworks.md: PyTorch's Adam(weight_decay=λ) is L2 regularisation (gdlib.Adam fed g + λθ) unless
    decoupled_weight_decay=True, which makes it AdamW (gdlib.AdamW)."""
    lam, size = 0.3, 12
    theta0 = rng.standard_normal(size)
    grads = list(gradient_sequence(rng, 100, size, np.float64))
    ends = {}
    for decoupled in (False, True):
        param = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
        topt = torch.optim.Adam([param], lr=0.01, weight_decay=lam, decoupled_weight_decay=decoupled)
        for g in grads:
            param.grad = torch.tensor(g)
            topt.step()
        ends[decoupled] = param.detach().numpy()
    l2, w = theta0.copy(), theta0.copy()
    adam, adamw = gdlib.Adam(eta=0.01), gdlib.AdamW(eta=0.01, weight_decay=lam)
    state_l2, state_w = adam.init(l2), adamw.init(w)
    for g in grads:
        adam.step(l2, g + lam * l2, state_l2)
        adamw.step(w, g, state_w)
    np.testing.assert_allclose(ends[False], l2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ends[True], w, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(l2 - w)) > 1e-3    # the two rules differ, so the test tells them apart
