"""Property-based tests: random hyperparameters, shapes, dtypes and gradient
magnitudes, every optimizer against ``tests/reference.py``, and against
torch and optax for the forms they implement.

Hypothesis runs with the "gdlib" profile (``conftest.py``): derandomized,
so a run is reproducible, a bounded number of examples, no deadline (the
first example of a new dtype or shape compiles). Hyperparameters stay in
the domain gdlib validates: η > 0, decay rates in [0, 1), ε >= 0 (> 0 for
Adadelta), G_0 >= 0, lr_decay >= 0, ψ > 0.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gdlib
import reference as ref
from tolerance import EntryScale, assert_entries_close

# ------------------------------------------------------------------ strategies
etas = st.floats(1e-4, 1.0)
decays = st.one_of(st.just(0.0), st.floats(0.0, 0.999), st.sampled_from([0.5, 0.9, 0.99, 0.999]))
epss = st.one_of(st.just(0.0), st.sampled_from([1e-8, 1e-6, 1e-4, 1e-2]), st.floats(1e-10, 1e-1))
positive_epss = st.one_of(st.sampled_from([1e-8, 1e-6, 1e-4, 1e-2]), st.floats(1e-10, 1e-1))
booleans = st.booleans()


@st.composite
def optimizers(draw):
    """(label, gdlib optimizer, reference factory(theta), state names)."""
    kind = draw(st.sampled_from(["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam",
                                 "adamax", "nadam", "amsgrad"]))
    eta = draw(etas)
    if kind == "sgd":
        return kind, gdlib.SGD(eta=eta), lambda th: ref.SGD(th, eta), ()
    if kind in ("momentum", "nesterov"):
        gamma, inside = draw(decays), draw(booleans)
        form = draw(st.sampled_from(["lookahead", "shifted"])) if kind == "nesterov" else "lookahead"
        opt = (gdlib.Momentum(eta=eta, gamma=gamma, eta_inside_velocity=inside) if kind == "momentum" else
               gdlib.Nesterov(eta=eta, gamma=gamma, form=form, eta_inside_velocity=inside))
        rule = ref.NesterovShifted if form == "shifted" else ref.Momentum
        return f"{kind}/{form}", opt, lambda th: rule(th, eta, gamma, eta_inside_velocity=inside), ("v",)
    if kind == "adagrad":
        eps, inside = draw(epss), draw(booleans)
        G0, decay = draw(st.sampled_from([0.0, 0.1, 1.0])), draw(st.sampled_from([0.0, 0.01, 0.5]))
        return kind, gdlib.Adagrad(eta=eta, eps=eps, eps_inside_sqrt=inside, G0=G0, lr_decay=decay), \
            lambda th: ref.Adagrad(th, eta, eps, eps_inside_sqrt=inside, G0=G0, lr_decay=decay), ("G",)
    if kind == "adadelta":
        gamma, eps = draw(decays), draw(positive_epss)
        return kind, gdlib.Adadelta(gamma=gamma, eps=eps, eta=eta), \
            lambda th: ref.Adadelta(th, gamma, eps, eta=eta), ("Eg2", "Edelta2")
    if kind == "rmsprop":
        gamma, eps, inside = draw(decays), draw(epss), draw(booleans)
        return kind, gdlib.RMSprop(eta=eta, gamma=gamma, eps=eps, eps_inside_sqrt=inside), \
            lambda th: ref.RMSprop(th, eta, gamma, eps, eps_inside_sqrt=inside), ("Eg2",)
    b1, b2, eps = draw(decays), draw(decays), draw(epss)
    if kind == "adam":
        inside, correct = draw(booleans), draw(booleans)
        return kind, gdlib.Adam(eta, b1, b2, eps, eps_inside_sqrt=inside, bias_correction=correct), \
            lambda th: ref.Adam(th, eta, b1, b2, eps, eps_inside_sqrt=inside, bias_correction=correct), ("m", "v")
    if kind == "adamax":
        placement = draw(st.sampled_from(["max", "denominator"]))
        return f"adamax/{placement}", gdlib.AdaMax(eta, b1, b2, eps, eps_placement=placement), \
            lambda th: ref.AdaMax(th, eta, b1, b2, eps, placement), ("m", "u")
    if kind == "nadam":
        form, psi, inside = draw(st.sampled_from(["seed", "dozat", "pytorch", "optax"])), draw(st.floats(1e-3, 1.0)), \
            draw(booleans)
        return f"nadam/{form}", gdlib.Nadam(eta, b1, b2, eps, form=form, momentum_decay=psi, eps_inside_sqrt=inside), \
            lambda th: ref.Nadam(th, eta, b1, b2, eps, form=form, psi=psi, eps_inside_sqrt=inside), ("m", "v")
    correct, max_of, inside = draw(booleans), draw(st.sampled_from(["raw", "corrected"])), draw(booleans)
    return f"amsgrad/{correct}/{max_of}", \
        gdlib.AMSGrad(eta, b1, b2, eps, eps_inside_sqrt=inside, bias_correction=correct, max_of=max_of), \
        lambda th: ref.AMSGrad(th, eta, b1, b2, eps, correct, max_of if correct else "raw", eps_inside_sqrt=inside), \
        ("m", "v", "v_hat")


shapes = st.one_of(st.tuples(st.integers(1, 40)), st.tuples(st.integers(1, 6), st.integers(1, 7)))
dtypes = st.sampled_from([np.float64, np.float32])


@st.composite
def problems(draw):
    """θ_0 and a gradient sequence: a magnitude per run from 1e-6 to 1e3,
    spread over two decades per entry, with exact zeros."""
    shape, dtype = draw(shapes), draw(dtypes)
    n_steps = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    magnitude = 10.0 ** draw(st.floats(-6, 3))
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(shape).astype(dtype)
    grads = rng.standard_normal((n_steps, *shape)) * magnitude * 10.0 ** rng.uniform(-1, 1, size=shape)
    grads[rng.random(grads.shape) < 0.15] = 0.0
    return theta0, grads.astype(dtype)


def _compare_run(opt, theta0, grads, other_steps, names):
    """Step gdlib and an oracle side by side; ``other_steps(g)`` steps the oracle
    and returns a dict name -> float64 array (the oracle runs in float64)."""
    dtype = theta0.dtype
    theta = theta0.copy()
    state = opt.init(theta)
    scales = {n: EntryScale(theta0 if n == "theta" else getattr(state, n)) for n in ("theta",) + names}
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        expected = other_steps(g)
        for n in ("theta",) + names:
            actual = theta if n == "theta" else getattr(state, n)
            assert actual.dtype == dtype
            assert_entries_close(actual, expected[n], scales[n].update(expected[n]), dtype, f"{n} after step {k}")


@given(optimizers(), problems())
def test_matches_reference(optimizer, problem):
    label, opt, make_ref, names = optimizer
    theta0, grads = problem
    rule = make_ref(theta0.astype(np.float64).reshape(-1))

    def step(g):
        rule.step(g.astype(np.float64).reshape(-1))
        return {n: getattr(rule, n).reshape(theta0.shape) for n in ("theta",) + names}

    _compare_run(opt, theta0, grads, step, names)


# --------------------------------------------------------------------- torch
@st.composite
def torch_pairs(draw):
    """(gdlib optimizer, torch factory, [(gdlib name, torch state key)]) with random hyperparameters."""
    torch = pytest.importorskip("torch")
    kind = draw(st.sampled_from(["sgd", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam",
                                 "amsgrad"]))
    eta = draw(etas)
    if kind in ("sgd", "nesterov"):
        gamma = draw(st.floats(0.0, 0.999))
        nesterov = kind == "nesterov" and gamma > 0
        opt = (gdlib.Nesterov(eta, gamma, form="shifted", eta_inside_velocity=False) if nesterov else
               gdlib.Momentum(eta, gamma, eta_inside_velocity=False))
        return opt, lambda p: torch.optim.SGD(p, lr=eta, momentum=gamma, nesterov=nesterov), \
            ([("v", "momentum_buffer")] if gamma > 0 else [])
    if kind == "adagrad":
        eps, G0, decay = draw(positive_epss), draw(st.floats(0.0, 1.0)), draw(st.floats(0.0, 1.0))
        return gdlib.Adagrad(eta, eps, eps_inside_sqrt=False, G0=G0, lr_decay=decay), \
            lambda p: torch.optim.Adagrad(p, lr=eta, eps=eps, initial_accumulator_value=G0, lr_decay=decay), \
            [("G", "sum")]
    if kind == "adadelta":
        gamma, eps = draw(decays), draw(positive_epss)
        return gdlib.Adadelta(gamma, eps, eta=eta), lambda p: torch.optim.Adadelta(p, lr=eta, rho=gamma, eps=eps), \
            [("Eg2", "square_avg"), ("Edelta2", "acc_delta")]
    if kind == "rmsprop":
        gamma, eps = draw(decays), draw(positive_epss)
        return gdlib.RMSprop(eta, gamma, eps, eps_inside_sqrt=False), \
            lambda p: torch.optim.RMSprop(p, lr=eta, alpha=gamma, eps=eps), [("Eg2", "square_avg")]
    b1, b2, eps = draw(decays), draw(decays), draw(positive_epss)
    if kind == "adam":
        return gdlib.Adam(eta, b1, b2, eps), lambda p: torch.optim.Adam(p, lr=eta, betas=(b1, b2), eps=eps), \
            [("m", "exp_avg"), ("v", "exp_avg_sq")]
    if kind == "adamax":
        return gdlib.AdaMax(eta, b1, b2, eps, eps_placement="max"), \
            lambda p: torch.optim.Adamax(p, lr=eta, betas=(b1, b2), eps=eps), [("m", "exp_avg"), ("u", "exp_inf")]
    if kind == "nadam":
        psi = draw(st.floats(1e-3, 1.0))
        return gdlib.Nadam(eta, b1, b2, eps, form="pytorch", momentum_decay=psi), \
            lambda p: torch.optim.NAdam(p, lr=eta, betas=(b1, b2), eps=eps, momentum_decay=psi), \
            [("m", "exp_avg"), ("v", "exp_avg_sq")]
    return gdlib.AMSGrad(eta, b1, b2, eps, bias_correction=True, max_of="raw"), \
        lambda p: torch.optim.Adam(p, lr=eta, betas=(b1, b2), eps=eps, amsgrad=True), \
        [("m", "exp_avg"), ("v", "exp_avg_sq"), ("v_hat", "max_exp_avg_sq")]


@given(torch_pairs(), problems())
def test_matches_torch(pair, problem):
    torch = pytest.importorskip("torch")
    opt, make_torch, keys = pair
    theta0, grads = problem
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch's scalar state (NAdam's μ product) in float64
    try:
        param = torch.nn.Parameter(torch.tensor(theta0.astype(np.float64)))
        topt = make_torch([param])
        names = tuple(k[0] for k in keys)

        def step(g):
            param.grad = torch.tensor(g.astype(np.float64))
            topt.step()
            out = {"theta": param.detach().numpy().copy()}
            out.update({ours: topt.state[param][theirs].numpy().copy() for ours, theirs in keys})
            return out

        _compare_run(opt, theta0, grads, step, names)
    finally:
        torch.set_default_dtype(previous)


# --------------------------------------------------------------------- optax
@st.composite
def optax_pairs(draw):
    """(gdlib optimizer, optax transformation, [(gdlib name, optax state field)]); see test_optax_oracle.py
    for which gdlib option is which optax transform."""
    optax = pytest.importorskip("optax")
    kind = draw(st.sampled_from(["adam", "adam_root", "adamax", "nadam", "amsgrad", "rmsprop", "adagrad"]))
    eta, b1, b2, eps = draw(etas), draw(decays), draw(decays), draw(positive_epss)
    if kind == "adam":
        return gdlib.Adam(eta, b1, b2, eps), optax.adam(eta, b1, b2, eps), [("m", "mu"), ("v", "nu")]
    if kind == "adam_root":
        return gdlib.Adam(eta, b1, b2, eps, eps_inside_sqrt=True), optax.adam(eta, b1, b2, 0.0, eps_root=eps), \
            [("m", "mu"), ("v", "nu")]
    if kind == "adamax":
        return gdlib.AdaMax(eta, b1, b2, eps, eps_placement="max"), optax.adamax(eta, b1, b2, eps), \
            [("m", "mu"), ("u", "nu")]
    if kind == "nadam":
        return gdlib.Nadam(eta, b1, b2, eps, form="optax"), optax.nadam(eta, b1, b2, eps), [("m", "mu"), ("v", "nu")]
    if kind == "amsgrad":
        return gdlib.AMSGrad(eta, b1, b2, eps, bias_correction=True, max_of="corrected"), \
            optax.amsgrad(eta, b1, b2, eps), [("m", "mu"), ("v", "nu"), ("v_hat", "nu_max")]
    if kind == "rmsprop":
        inside = draw(booleans)
        return gdlib.RMSprop(eta, b2, eps, eps_inside_sqrt=inside), \
            optax.rmsprop(eta, decay=b2, eps=eps, eps_in_sqrt=inside), [("Eg2", "nu")]
    G0 = draw(st.floats(0.0, 1.0))
    return gdlib.Adagrad(eta, eps, G0=G0), optax.adagrad(eta, initial_accumulator_value=G0, eps=eps), \
        [("G", "sum_of_squares")]


@settings(max_examples=20)  # optax runs eagerly, op by op: the slowest oracle
@given(optax_pairs(), problems())
def test_matches_optax(pair, problem):
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    from test_optax_oracle import _field

    jax.config.update("jax_enable_x64", True)
    opt, tx, fields = pair
    theta0, grads = problem
    params = jax.numpy.asarray(theta0.astype(np.float64))
    ostate = tx.init(params)
    names = tuple(f[0] for f in fields)

    def step(g):
        nonlocal params, ostate
        updates, ostate = tx.update(jax.numpy.asarray(g.astype(np.float64)), ostate, params)
        params = optax.apply_updates(params, updates)
        out = {"theta": np.asarray(params)}
        out.update({ours: np.asarray(_field(theirs)(ostate)) for ours, theirs in fields})
        return out

    _compare_run(opt, theta0, grads, step, names)
