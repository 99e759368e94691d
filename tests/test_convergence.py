"""Every optimizer converges on a convex quadratic and on Rosenbrock, float32 and float64."""

import numpy as np
import pytest

import gdlib
from objectives import quadratic_gradient, rosenbrock_gradient

QUADRATIC = {  # J = ½(x² + 10 y²) from (3, 2); 20 000 steps
    "SGD": gdlib.SGD(eta=0.1),
    "Momentum": gdlib.Momentum(eta=0.05, gamma=0.9),
    "Nesterov": gdlib.Nesterov(eta=0.05, gamma=0.9),
    "Nesterov shifted": gdlib.Nesterov(eta=0.05, gamma=0.9, form="shifted"),
    "Adagrad": gdlib.Adagrad(eta=0.5),
    "Adadelta": gdlib.Adadelta(gamma=0.9, eps=1e-6, eta=0.2),
    "RMSprop": gdlib.RMSprop(eta=5e-4),
    "Adam": gdlib.Adam(eta=0.02),
    "AdaMax": gdlib.AdaMax(eta=0.02),
    "Nadam": gdlib.Nadam(eta=0.02),
    "AMSGrad": gdlib.AMSGrad(eta=0.02),
}

ROSENBROCK = {  # (1 − x)² + 100 (y − x²)² from (−1.2, 1); 100 000 steps
    "SGD": gdlib.SGD(eta=1e-3),
    "Momentum": gdlib.Momentum(eta=1e-4, gamma=0.9),
    "Nesterov": gdlib.Nesterov(eta=1e-4, gamma=0.9),
    "Nesterov shifted": gdlib.Nesterov(eta=1e-4, gamma=0.9, form="shifted"),
    "Adagrad": gdlib.Adagrad(eta=0.5),
    "RMSprop": gdlib.RMSprop(eta=1e-3),
    "Adam": gdlib.Adam(eta=0.02),
    "AdaMax": gdlib.AdaMax(eta=0.02),
    "Nadam": gdlib.Nadam(eta=0.02),
    "AMSGrad": gdlib.AMSGrad(eta=0.02),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(QUADRATIC))
def test_converges_on_ill_conditioned_quadratic(name, dtype):
    result = gdlib.run_compiled(QUADRATIC[name], quadratic_gradient, np.array([3.0, 2.0], dtype), 20_000, record=False)
    assert result.status == "ok"
    assert np.abs(result.theta).max() < 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ROSENBROCK))
def test_converges_on_rosenbrock(name, dtype):
    result = gdlib.run_compiled(ROSENBROCK[name], rosenbrock_gradient, np.array([-1.2, 1.0], dtype), 100_000,
                                record=False)
    assert result.status == "ok"
    assert np.abs(result.theta - 1.0).max() < 1e-2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adadelta_converges_on_rosenbrock_once_eta_is_annealed(dtype):
    """Adadelta's step never falls below about η sqrt(ε) |g| / RMS[g], a ratio that
    does not shrink near a minimum: with constant η it jitters and drifts along
    Rosenbrock's flat valley (checked below). Annealing η_t = 1 / (1 + t/1000)
    (sum diverges, as Robbins and Monro require) lets it converge."""
    n = 100_000
    t = np.arange(1, n + 1)
    opt = gdlib.Adadelta(gamma=0.9, eps=1e-6)
    annealed = gdlib.run_compiled(opt, rosenbrock_gradient, np.array([-1.2, 1.0], dtype), n,
                                  eta_schedule=1.0 / (1.0 + t / 1000.0), record=False)
    assert np.abs(annealed.theta - 1.0).max() < 2e-3
    constant = gdlib.run_compiled(opt, rosenbrock_gradient, np.array([-1.2, 1.0], dtype), n, record=False)
    assert np.abs(constant.theta - 1.0).max() > 0.1
