"""gdlib's framework options against torch.optim, step for step (float64).

torch is an independent implementation of each convention; these tests run
in CI (``make test`` installs torch==2.13.0, CPU build) and are skipped only
where torch is absent.
"""

import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence

torch = pytest.importorskip("torch")

ETA = 0.01

# (id, gdlib optimizer, torch optimizer factory(params), [(gdlib state name, torch state key, scale)])
# scale converts torch's stored quantity into gdlib's (Adadelta stores the step with the opposite sign,
# but only its square is kept, so no conversion is needed anywhere).
CASES = [
    ("sgd", gdlib.SGD(eta=ETA), lambda p: torch.optim.SGD(p, lr=ETA), []),
    ("momentum", gdlib.Momentum(eta=ETA, gamma=0.9, eta_inside_velocity=False),
     lambda p: torch.optim.SGD(p, lr=ETA, momentum=0.9), [("v", "momentum_buffer")]),
    ("nesterov", gdlib.Nesterov(eta=ETA, gamma=0.9, form="shifted", eta_inside_velocity=False),
     lambda p: torch.optim.SGD(p, lr=ETA, momentum=0.9, nesterov=True), [("v", "momentum_buffer")]),
    ("adagrad", gdlib.Adagrad(eta=ETA, eps=1e-10, eps_inside_sqrt=False),
     lambda p: torch.optim.Adagrad(p, lr=ETA, eps=1e-10), [("G", "sum")]),
    ("adagrad_G0_lr_decay", gdlib.Adagrad(eta=ETA, eps=1e-10, eps_inside_sqrt=False, G0=0.1, lr_decay=0.05),
     lambda p: torch.optim.Adagrad(p, lr=ETA, eps=1e-10, initial_accumulator_value=0.1, lr_decay=0.05),
     [("G", "sum")]),
    ("adadelta", gdlib.Adadelta(gamma=0.9, eps=1e-6, eta=1.0),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6), [("Eg2", "square_avg"), ("Edelta2", "acc_delta")]),
    ("adadelta_lr", gdlib.Adadelta(gamma=0.95, eps=1e-6, eta=0.3),
     lambda p: torch.optim.Adadelta(p, lr=0.3, rho=0.95, eps=1e-6), [("Eg2", "square_avg"), ("Edelta2", "acc_delta")]),
    ("rmsprop", gdlib.RMSprop(eta=ETA, gamma=0.99, eps=1e-8, eps_inside_sqrt=False),
     lambda p: torch.optim.RMSprop(p, lr=ETA, alpha=0.99, eps=1e-8), [("Eg2", "square_avg")]),
    ("adam", gdlib.Adam(eta=ETA), lambda p: torch.optim.Adam(p, lr=ETA),
     [("m", "exp_avg"), ("v", "exp_avg_sq")]),
    ("adamax", gdlib.AdaMax(eta=ETA, eps=1e-8, eps_placement="max"),
     lambda p: torch.optim.Adamax(p, lr=ETA, eps=1e-8), [("m", "exp_avg"), ("u", "exp_inf")]),
    ("nadam", gdlib.Nadam(eta=ETA, form="pytorch", momentum_decay=0.004),
     lambda p: torch.optim.NAdam(p, lr=ETA, momentum_decay=0.004), [("m", "exp_avg"), ("v", "exp_avg_sq")]),
    ("amsgrad", gdlib.AMSGrad(eta=ETA, bias_correction=True, max_of="raw"),
     lambda p: torch.optim.Adam(p, lr=ETA, amsgrad=True),
     [("m", "exp_avg"), ("v", "exp_avg_sq"), ("v_hat", "max_exp_avg_sq")]),
]


@pytest.fixture(autouse=True)
def torch_float64_scalars():
    """torch keeps scalar state (the step, NAdam's mu_product) in the default
    dtype, float32 unless changed, which rounds mu_product to 7 digits and
    moves θ by about 1e-10 after one step. With float64 as the default,
    torch's bookkeeping is as exact as gdlib's and the formulas can be
    compared at 1e-12."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _close(actual, expected, what, step):
    scale = max(np.max(np.abs(expected)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale,
                               err_msg=f"{what} differs from torch after step {step}")


@pytest.mark.parametrize("case_id, opt, make_torch, pairs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_step_for_step(case_id, opt, make_torch, pairs, rng):
    size, n_steps = 64, 30
    theta0 = rng.standard_normal(size)
    grads = gradient_sequence(rng, n_steps, size, np.float64)
    theta = theta0.copy()
    state = opt.init(theta)
    param = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    topt = make_torch([param])
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        param.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        _close(theta, param.detach().numpy(), "theta", k)
        tstate = topt.state[param]
        for ours, theirs in pairs:
            _close(getattr(state, ours), tstate[theirs].numpy(), ours, k)


def test_nadam_mu_product_matches_torch(rng):
    """The running product of the momentum schedule, kept in state.counters[1]."""
    opt = gdlib.Nadam(form="pytorch")
    theta = rng.standard_normal(8)
    state = opt.init(theta)
    param = torch.nn.Parameter(torch.tensor(theta))
    topt = torch.optim.NAdam([param], lr=opt.eta)
    for _ in range(25):
        g = rng.standard_normal(8)
        opt.step(theta, g, state)
        param.grad = torch.tensor(g)
        topt.step()
    assert state.counters[1] == pytest.approx(float(topt.state[param]["mu_product"]), rel=1e-14)
