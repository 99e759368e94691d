"""The warm-up, cosine, SGDR, one-cycle and ramp schedules: PyTorch's ``lr_scheduler`` as the oracle.

gdlib's step t (1, 2, …) is PyTorch's ``last_epoch`` t − 1: torch reads the rate
for a step from the optimizer before calling ``scheduler.step()``. Where the two
conventions differ (the end of the warm-up, the cosine past T_max, the cycled
momentum of OneCycleLR), a test shows the difference numerically.
"""

import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

import gdlib
from gdlib import data, models, schedules as S

ETA, N = 0.1, 700


def torch_etas(make, n=N, lr=ETA):
    """The learning rate torch's SGD uses at each of n steps under the scheduler ``make(opt)``."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notes
        sched = make(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


CASES = {
    "warm-up (t/W)": (S.LinearWarmUp(50), lambda o: L.LinearLR(o, start_factor=1 / 50, total_iters=49)),
    "warm-up (start)": (S.LinearWarmUp(50, start=0.1), lambda o: L.LinearLR(o, start_factor=0.1, total_iters=50)),
    "cosine": (S.Cosine(N, floor=0.01), lambda o: L.CosineAnnealingLR(o, T_max=N, eta_min=0.01 * ETA)),
    "warm-up + cosine": (
        S.Cosine(N, floor=0.01, warmup=50),
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=1 / 50, total_iters=49),
                                     L.CosineAnnealingLR(o, T_max=N - 50, eta_min=0.01 * ETA)], milestones=[50])),
    "warm-up (start) + cosine": (
        S.Cosine(N, warmup=40, warmup_start=0.01),
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=40),
                                     L.CosineAnnealingLR(o, T_max=N - 40)], milestones=[40])),
    "SGDR, T_mult = 1": (S.WarmRestarts(37, 1, floor=0.05),
                         lambda o: L.CosineAnnealingWarmRestarts(o, T_0=37, T_mult=1, eta_min=0.05 * ETA)),
    "SGDR, T_mult = 2": (S.WarmRestarts(10, 2), lambda o: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2)),
    "one cycle": (S.OneCycle(N), lambda o: L.OneCycleLR(o, max_lr=ETA, total_steps=N, cycle_momentum=False)),
    "one cycle, three phases, linear": (
        S.OneCycle(N, pct_start=0.25, div=10.0, final_div=100.0, anneal="linear", three_phase=True),
        lambda o: L.OneCycleLR(o, max_lr=ETA, total_steps=N, pct_start=0.25, div_factor=10.0,
                               final_div_factor=100.0, anneal_strategy="linear", three_phase=True,
                               cycle_momentum=False)),
}


@pytest.mark.parametrize("name", CASES)
def test_every_step_matches_torch(name):
    ours, theirs = CASES[name]
    np.testing.assert_allclose(ours.etas(ETA, N), torch_etas(theirs), rtol=0, atol=1e-12 * ETA)


def test_the_end_of_the_warm_up_is_one_step_apart_in_the_two_conventions():
    W = 5
    ours = S.LinearWarmUp(W).etas(1.0, 8)
    np.testing.assert_allclose(ours, [0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1], rtol=1e-15)
    torch_w = torch_etas(lambda o: L.LinearLR(o, start_factor=1 / W, total_iters=W), 8, lr=1.0)
    np.testing.assert_allclose(torch_w, [0.2, 0.36, 0.52, 0.68, 0.84, 1, 1, 1], rtol=1e-15)
    # PyTorch's form reaches η at step W + 1; gdlib's `start=` option is that form
    np.testing.assert_allclose(S.LinearWarmUp(W, start=1 / W).etas(1.0, 8), torch_w, rtol=1e-15)


def test_past_t_max_torch_cosine_rises_again_and_gdlib_holds_the_floor():
    T = 20
    ours = S.Cosine(T, floor=0.1).etas(1.0, 2 * T + 1)
    theirs = torch_etas(lambda o: L.CosineAnnealingLR(o, T_max=T, eta_min=0.1), 2 * T + 1, lr=1.0)
    np.testing.assert_allclose(ours[: T + 1], theirs[: T + 1], atol=1e-14)
    np.testing.assert_allclose(ours[T:], 0.1, rtol=1e-15)
    assert theirs[2 * T] == pytest.approx(1.0) and theirs[T + 5] > 0.15  # torch's cosine comes back up


def test_sgdr_restarts_where_the_cycles_end():
    sched = S.WarmRestarts(10, 2)
    assert sched.restarts(100) == [11, 31, 71]
    s = sched(np.arange(1, 101))
    assert all(s[t - 1] == 1.0 and s[t - 2] < 0.05 for t in sched.restarts(100))


def test_one_cycle_momentum_is_not_cycled():
    """torch's default OneCycleLR also cycles SGD's momentum between 0.85 and 0.95; gdlib schedules η only."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=ETA, momentum=0.9)
    L.OneCycleLR(opt, max_lr=ETA, total_steps=N)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    np.testing.assert_allclose(S.OneCycle(N).etas(ETA, N), torch_etas(
        lambda o: L.OneCycleLR(o, max_lr=ETA, total_steps=N, cycle_momentum=False)), atol=1e-12 * ETA)


def test_ramp_is_geometric_or_linear_and_holds_its_end():
    np.testing.assert_allclose(S.Ramp(1e-4, 1.0, 5)(np.arange(1, 7)), [1e-4, 1e-3, 1e-2, 1e-1, 1, 1], rtol=1e-12)
    np.testing.assert_allclose(S.Ramp(0.1, 0.5, 5, mode="linear")(np.arange(1, 6)), [0.1, 0.2, 0.3, 0.4, 0.5])


def test_the_compiled_training_loop_applies_the_new_schedules_step_by_step():
    d = data.linear(n=20, p=2, seed=0)
    m = models.LinearRegression(2)
    theta0 = m.init_params(0)
    for sched in (S.Cosine(6, floor=0.1, warmup=2), S.WarmRestarts(2, 2), S.OneCycle(6)):
        r = gdlib.train(m, gdlib.SGD(eta=0.1), d, epochs=6, batch_size="full", theta0=theta0, schedule=sched)
        theta = theta0.copy()
        for eta in sched.etas(0.1, 6):
            theta -= eta * m.gradient(theta, d.X_train, d.y_train)
        np.testing.assert_allclose(r.theta, theta, rtol=1e-13)


@pytest.mark.parametrize("make, error, words", [
    (lambda: S.LinearWarmUp(0), ValueError, "whole number >= 1"),
    (lambda: S.LinearWarmUp(2.5), ValueError, "whole number"),
    (lambda: S.LinearWarmUp(5, start=1.5), ValueError, "<= 1"),
    (lambda: S.Cosine(10, warmup=10), ValueError, "shorter than total_steps"),
    (lambda: S.Cosine(10, floor=1.0), ValueError, "[0, 1)"),
    (lambda: S.WarmRestarts(10, T_mult=1.5), ValueError, "T_mult"),
    (lambda: S.OneCycle(10, pct_start=0.05), ValueError, "empty phase"),
    (lambda: S.OneCycle(10, anneal="cosine"), ValueError, "'cos', 'linear'"),
    (lambda: S.Ramp(0.0, 1.0, 10), ValueError, "start must be > 0"),
    (lambda: S.Ramp(1e-3, 1.0, 1), ValueError, ">= 2"),
    (lambda: S.Ramp(1e-3, 1.0, 10, mode="log"), ValueError, "'exponential', 'linear'"),
])
def test_bad_schedule_arguments_say_what_to_fix(make, error, words):
    with pytest.raises(error, match=None) as info:
        make()
    assert words in str(info.value)


def test_the_range_test_sweeps_pairs_and_cuts_where_the_loss_blows_up():
    from gdlib.range_test import lr_range_test

    d = data.linear(n=64, p=3, seed=0)
    r = lr_range_test(models.LinearRegression(3), gdlib.SGD(eta=0.3), d, start=1e-4, stop=100.0, steps=60,
                      batch_size=8)
    np.testing.assert_allclose(r.etas[:3], 1e-4 * (1e6 ** (np.arange(3) / 59)), rtol=1e-12)
    assert r.diverged and len(r.etas) < 60 and len(r.losses) == len(r.etas) == len(r.smoothed)
    assert r.suggested[0] < r.suggested[1] == r.lowest and r.etas[0] <= r.steepest <= r.lowest
    # the loss after step k goes with η_k: the first recorded loss is the one after one tiny step
    first = gdlib.train(models.LinearRegression(3), gdlib.SGD(eta=1e-4), d, epochs=1, batch_size=8,
                        record_steps=True)
    assert r.losses[0] == first.history.step_loss[1]
    with pytest.raises(ValueError, match="larger than start"):
        lr_range_test(models.LinearRegression(3), gdlib.SGD(), d, start=1.0, stop=0.1)
    with pytest.raises(ValueError, match=">= 10"):
        lr_range_test(models.LinearRegression(3), gdlib.SGD(), d, steps=5)


def test_precomputed_etas_drive_run_compiled_and_schedules_hold_their_end():
    from objectives import quadratic_gradient

    sched = S.WarmRestarts(3, 2, floor=0.1)
    etas = sched.etas(0.2, 12)
    r = gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, np.array([1.0, -2.0]), 12, eta_schedule=etas)
    opt, theta = gdlib.SGD(), np.array([1.0, -2.0])
    state = opt.init(theta)
    for eta in etas:
        g = np.empty(2)
        quadratic_gradient(theta, g)
        opt.step(theta, g, state, eta=eta)
    np.testing.assert_array_equal(r.theta, theta)
    np.testing.assert_allclose(S.OneCycle(20)(np.arange(20, 25)), 1 / (25 * 1e4), rtol=1e-12)
    np.testing.assert_allclose(S.Ramp(1e-3, 1.0, 10)(np.arange(10, 13)), 1.0, rtol=1e-12)
