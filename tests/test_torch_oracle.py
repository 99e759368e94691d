"""gdlib's framework options against torch.optim, step for step, in float64 and float32.

torch is an independent implementation of each convention; these tests run
in CI (``make test`` installs torch==2.13.0, CPU build) and are skipped only
where torch is absent. Every entry is judged on its own scale
(``tolerance.py``), the scale taken from torch's float64 run on the same
gradients; in float32, gdlib and torch each carry their own rounding, so
the bound is twice the float32 one of the reference tests.
"""

import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence
from tolerance import RTOL, EntryScale, assert_entries_close

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
    # every hyperparameter away from its default (β1, β2 far from 0.9/0.999 and from each other)
    ("momentum_gamma", gdlib.Momentum(eta=0.05, gamma=0.6, eta_inside_velocity=False),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.6), [("v", "momentum_buffer")]),
    ("nesterov_gamma", gdlib.Nesterov(eta=0.05, gamma=0.6, form="shifted", eta_inside_velocity=False),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.6, nesterov=True), [("v", "momentum_buffer")]),
    ("adagrad_eps", gdlib.Adagrad(eta=0.2, eps=1e-3, eps_inside_sqrt=False, G0=0.3, lr_decay=0.2),
     lambda p: torch.optim.Adagrad(p, lr=0.2, eps=1e-3, initial_accumulator_value=0.3, lr_decay=0.2),
     [("G", "sum")]),
    ("adadelta_all", gdlib.Adadelta(gamma=0.6, eps=1e-3, eta=0.5),
     lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.6, eps=1e-3), [("Eg2", "square_avg"), ("Edelta2", "acc_delta")]),
    ("rmsprop_all", gdlib.RMSprop(eta=0.05, gamma=0.7, eps=1e-3, eps_inside_sqrt=False),
     lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.7, eps=1e-3), [("Eg2", "square_avg")]),
    ("adam_all", gdlib.Adam(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4),
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.6, 0.95), eps=1e-4), [("m", "exp_avg"), ("v", "exp_avg_sq")]),
    ("adamax_all", gdlib.AdaMax(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, eps_placement="max"),
     lambda p: torch.optim.Adamax(p, lr=0.05, betas=(0.6, 0.95), eps=1e-4), [("m", "exp_avg"), ("u", "exp_inf")]),
    ("nadam_all", gdlib.Nadam(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, form="pytorch", momentum_decay=0.2),
     lambda p: torch.optim.NAdam(p, lr=0.05, betas=(0.6, 0.95), eps=1e-4, momentum_decay=0.2),
     [("m", "exp_avg"), ("v", "exp_avg_sq")]),
    ("amsgrad_all", gdlib.AMSGrad(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, bias_correction=True, max_of="raw"),
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.6, 0.95), eps=1e-4, amsgrad=True),
     [("m", "exp_avg"), ("v", "exp_avg_sq"), ("v_hat", "max_exp_avg_sq")]),
    ("adamw", gdlib.AdamW(eta=ETA), lambda p: torch.optim.AdamW(p, lr=ETA), [("m", "exp_avg"), ("v", "exp_avg_sq")]),
    ("adamw_all", gdlib.AdamW(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, weight_decay=0.3),
     lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.6, 0.95), eps=1e-4, weight_decay=0.3),
     [("m", "exp_avg"), ("v", "exp_avg_sq")]),
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


TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
# float64: torch orders the arithmetic differently; float32: both sides round (see the docstring)
TOLERANCE = {np.float64: 1e-13, np.float32: 2 * RTOL[np.dtype(np.float32)]}


def _torch_run(make_torch, theta0, dtype):
    param = torch.nn.Parameter(torch.tensor(theta0, dtype=TORCH_DTYPE[dtype]))
    return param, make_torch([param])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id, opt, make_torch, pairs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_step_for_step(case_id, opt, make_torch, pairs, dtype, rng):
    size, n_steps = 64, 30
    theta0 = rng.standard_normal(size).astype(dtype)
    grads = gradient_sequence(rng, n_steps, size, dtype)
    theta = theta0.copy()
    state = opt.init(theta)
    param, topt = _torch_run(make_torch, theta0, dtype)
    param64, topt64 = _torch_run(make_torch, theta0.astype(np.float64), np.float64)  # for the entry scales
    scales = {name: EntryScale(np.zeros(size) if name != "theta" else theta0) for name in ["theta"] + [p[0] for p in pairs]}
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        for p, o in ((param, topt), (param64, topt64)):
            p.grad = torch.tensor(g, dtype=p.dtype)
            o.step()
        quantities = [("theta", theta, param, param64)]
        quantities += [(ours, getattr(state, ours), topt.state[param][theirs], topt64.state[param64][theirs])
                       for ours, theirs in pairs]
        for name, ours, theirs, theirs64 in quantities:
            scale = scales[name].update(theirs64.detach().numpy())
            assert ours.dtype == dtype and theirs.dtype == TORCH_DTYPE[dtype]
            assert_entries_close(ours, theirs.detach().numpy(), scale, dtype,
                                 f"{name} differs from torch after step {k}", rtol=TOLERANCE[dtype])


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
