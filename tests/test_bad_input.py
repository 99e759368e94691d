"""Bad input gets a clear error that says what was wrong; strided arrays are handled."""

import numpy as np
import pytest

import gdlib
from objectives import quadratic_gradient

F64 = np.array([1.0, 2.0])

# (description, callable, exception type, words the message must contain)
CONSTRUCTION = [
    ("negative eta", lambda: gdlib.SGD(eta=-0.1), ValueError, "eta must be > 0"),
    ("zero eta", lambda: gdlib.Adam(eta=0.0), ValueError, "eta must be > 0"),
    ("nan eta", lambda: gdlib.Momentum(eta=float("nan")), ValueError, "eta must be finite"),
    ("inf eta", lambda: gdlib.RMSprop(eta=float("inf")), ValueError, "eta must be finite"),
    ("string eta", lambda: gdlib.Adagrad(eta="0.1"), TypeError, "eta must be a real number"),
    ("bool eta", lambda: gdlib.SGD(eta=True), TypeError, "eta must be a real number"),
    ("beta1 = 1", lambda: gdlib.Adam(beta1=1.0), ValueError, "beta1 must lie in [0, 1)"),
    ("beta2 > 1", lambda: gdlib.AdaMax(beta2=1.5), ValueError, "beta2 must lie in [0, 1)"),
    ("negative beta", lambda: gdlib.Nadam(beta1=-0.1), ValueError, "beta1 must lie in [0, 1)"),
    ("gamma = 1", lambda: gdlib.Momentum(gamma=1.0), ValueError, "gamma must lie in [0, 1)"),
    ("adadelta gamma", lambda: gdlib.Adadelta(gamma=1.2), ValueError, "gamma must lie in [0, 1)"),
    ("negative eps", lambda: gdlib.Adam(eps=-1e-8), ValueError, "eps must be >= 0"),
    ("adadelta eps zero", lambda: gdlib.Adadelta(eps=0.0), ValueError, "eps must be > 0"),
    ("negative G0", lambda: gdlib.Adagrad(G0=-1.0), ValueError, "G0 must be >= 0"),
    ("negative lr_decay", lambda: gdlib.Adagrad(lr_decay=-0.1), ValueError, "lr_decay must be >= 0"),
    ("unknown nesterov form", lambda: gdlib.Nesterov(form="pytorch"), ValueError, "form must be one of"),
    ("unknown nadam form", lambda: gdlib.Nadam(form="keras"), ValueError, "form must be one of"),
    ("unknown amsgrad max_of", lambda: gdlib.AMSGrad(max_of="max"), ValueError, "max_of must be one of"),
    ("unknown adamax placement", lambda: gdlib.AdaMax(eps_placement="inside"), ValueError, "eps_placement"),
    ("flag not bool", lambda: gdlib.Adam(bias_correction=1), TypeError, "bias_correction must be True or False"),
    ("bool model size", lambda: gdlib.models.LinearRegression(True), ValueError, "n_features must be a whole number"),
    ("float class count", lambda: gdlib.models.SoftmaxRegression(2, 3.0), ValueError, "n_classes must be a whole number"),
    ("non-positive psi", lambda: gdlib.Nadam(momentum_decay=0.0), ValueError, "momentum_decay must be > 0"),
    ("negative weight decay", lambda: gdlib.AdamW(weight_decay=-0.01), ValueError, "weight_decay must be >= 0"),
    ("nan weight decay", lambda: gdlib.AdamW(weight_decay=float("nan")), ValueError, "weight_decay must be finite"),
    ("string weight decay", lambda: gdlib.AdamW(weight_decay="0.01"), TypeError, "weight_decay must be a real"),
    ("adamw beta2 = 1", lambda: gdlib.AdamW(beta2=1.0), ValueError, "beta2 must lie in [0, 1)"),
    ("adamw zero eta", lambda: gdlib.AdamW(eta=0.0), ValueError, "eta must be > 0"),
    ("unknown keyword", lambda: gdlib.AdamW(lr=0.01), TypeError, "unexpected keyword argument 'lr'"),
    ("too many positional", lambda: gdlib.AdamW(0.01, 0.9, 0.999, 1e-8, 0.01, True), TypeError,
     "too many positional arguments"),
    ("lars zero trust coefficient", lambda: gdlib.LARS(trust_coefficient=0.0), ValueError, "trust_coefficient must be > 0"),
    ("lars negative weight decay", lambda: gdlib.LARS(weight_decay=-1e-4), ValueError, "weight_decay must be >= 0"),
    ("lars unknown form", lambda: gdlib.LARS(form="torch"), ValueError, "form must be one of"),
    ("lamb nan eps", lambda: gdlib.LAMB(eps=float("nan")), ValueError, "eps must be finite"),
    ("layers as a list", lambda: gdlib.LAMB(layers=[0, 3, 5]), TypeError, "layers must be None"),
    ("layers not from 0", lambda: gdlib.Layers([1, 3]), ValueError, "offsets must start at 0"),
    ("layers unsorted", lambda: gdlib.Layers([0, 3, 2]), ValueError, "strictly increasing"),
    ("layers with an empty layer", lambda: gdlib.Layers([0, 3, 3, 5]), ValueError, "strictly increasing"),
    ("layers of floats", lambda: gdlib.Layers([0.0, 2.5]), TypeError, "at least two integers"),
    ("layers, one offset", lambda: gdlib.Layers([0]), TypeError, "at least two integers"),
    ("layers, flags of the wrong length", lambda: gdlib.Layers([0, 2, 4], decay=[True]), ValueError,
     "sequence of 2 bools"),
    ("layers too short for theta", lambda: gdlib.LARS(layers=gdlib.Layers([0, 2])).init(np.zeros(3)), ValueError,
     "the layers cover 2 parameters but theta has 3"),
    ("layers too long for theta", lambda: gdlib.LAMB(layers=gdlib.Layers([0, 2, 5])).init(np.zeros(3)), ValueError,
     "the layers cover 5 parameters but theta has 3"),
]


def _step_with(theta, g, opt=None, state_from=None):
    opt = opt or gdlib.Adam()
    state = (state_from or opt).init(np.zeros(2) if state_from is not None else theta)
    opt.step(theta, g, state)


STEPPING = [
    ("theta is a list", lambda: gdlib.SGD().init([1.0, 2.0]), TypeError, "theta must be a NumPy array"),
    ("integer theta", lambda: gdlib.SGD().init(np.array([1, 2])), TypeError, "float32 or float64"),
    ("complex theta", lambda: gdlib.SGD().init(np.array([1j])), TypeError, "float32 or float64"),
    ("empty theta", lambda: gdlib.Adam().init(np.zeros(0)), ValueError, "theta is empty"),
    ("g wrong shape", lambda: _step_with(F64.copy(), np.ones(3)), ValueError, "g has shape (3,) but theta has shape (2,)"),
    ("g wrong dtype", lambda: _step_with(F64.copy(), np.ones(2, np.float32)), TypeError, "g has dtype float32"),
    ("g integer", lambda: _step_with(F64.copy(), np.array([1, 2])), TypeError, "float32 or float64"),
    ("g is a list", lambda: _step_with(F64.copy(), [1.0, 2.0]), TypeError, "g must be a NumPy array"),
    ("g has nan", lambda: _step_with(F64.copy(), np.array([np.nan, 1.0])), ValueError, "NaN or infinite"),
    ("g has inf", lambda: _step_with(F64.copy(), np.array([np.inf, 1.0])), ValueError, "NaN or infinite"),
    ("state of another optimizer", lambda: _step_with(F64.copy(), np.ones(2), gdlib.Adam(), gdlib.RMSprop()),
     ValueError, "this state belongs to RMSprop"),
    ("state for another shape", lambda: gdlib.SGD().step(np.ones(3), np.ones(3), gdlib.SGD().init(np.ones(2))),
     ValueError, "the state was made for shape (2,)"),
    ("state is not a State", lambda: gdlib.SGD().step(np.ones(2), np.ones(2), {"t": 0}), TypeError,
     "state must come from SGD.init(theta), got dict"),
    ("read-only theta", lambda: _step_with(np.frombuffer(b"\0" * 16), np.ones(2)), ValueError, "theta is read-only"),
    ("bad eta override", lambda: gdlib.SGD().step(np.ones(2), np.ones(2), gdlib.SGD().init(np.ones(2)), eta=-1.0),
     ValueError, "eta must be > 0"),
    ("run: negative steps", lambda: gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, F64, -1), ValueError,
     "n_steps must be a whole number"),
    ("run: python gradient", lambda: gdlib.run_compiled(gdlib.SGD(), lambda x, out: None, F64, 5), TypeError,
     "decorate it with @numba.njit"),
    ("run: 2-D start", lambda: gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, np.ones((2, 1)), 5), ValueError,
     "theta0 must be 1-D"),
    ("run: short schedule", lambda: gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, F64, 5,
                                                       eta_schedule=np.ones(4)), ValueError, "one learning rate per step"),
    ("run: negative schedule", lambda: gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, F64, 2,
                                                          eta_schedule=np.array([0.1, -0.1])), ValueError, "> 0"),
    ("run: zero in schedule", lambda: gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, F64, 2,
                                                         eta_schedule=np.array([0.1, 0.0])), ValueError, "> 0"),
]


@pytest.mark.parametrize("what, call, error, words", CONSTRUCTION + STEPPING,
                         ids=[c[0] for c in CONSTRUCTION + STEPPING])
def test_bad_input_raises_a_clear_error(what, call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_nonfinite_gradient_leaves_theta_and_state_untouched():
    opt = gdlib.Adam()
    theta = np.array([1.0, 2.0])
    state = opt.init(theta)
    opt.step(theta, np.array([0.5, 0.5]), state)
    before, buffer = theta.copy(), state.buffer.copy()
    with pytest.raises(ValueError):
        opt.step(theta, np.array([0.5, np.nan]), state)
    np.testing.assert_array_equal(theta, before)
    np.testing.assert_array_equal(state.buffer, buffer)
    assert state.t == 1


def test_hyperparameters_are_frozen():
    opt = gdlib.Adam(eta=0.1)
    with pytest.raises(AttributeError, match="fixed when it is created"):
        opt.eta = 0.5
    assert opt.eta == 0.1 and opt.hyper[0] == 0.1


def test_state_vectors_cannot_be_rebound_but_can_be_written():
    opt = gdlib.Adam()
    state = opt.init(np.ones(3))
    with pytest.raises(AttributeError, match=r"state.m\[...\] = value"):
        state.m = np.zeros(3)
    state.m[...] = 5.0
    assert np.all(state.buffer[0] == 5.0)


@pytest.mark.parametrize("make", [lambda: gdlib.Adam(eta=0.1), lambda: gdlib.Nesterov(eta=0.1),
                                  lambda: gdlib.Adadelta()])
def test_strided_and_fortran_arrays_update_like_contiguous_ones(make, rng):
    opt = make()
    base = rng.standard_normal((6, 8))
    before = base.copy()
    strided = base[::2, ::3]  # a non-contiguous view: updates must land in ``base``
    fortran = np.asfortranarray(rng.standard_normal((3, 3)))
    for theta in (strided, fortran):
        reference = np.ascontiguousarray(theta).copy()
        s_ref, s = opt.init(reference), opt.init(theta)
        for _ in range(5):
            g = 2.0 * theta[::-1]  # a strided gradient too
            g_ref = np.ascontiguousarray(g)
            opt.step(reference, g_ref, s_ref)
            opt.step(theta, g, s)
            np.testing.assert_array_equal(theta, reference)
        np.testing.assert_array_equal(s.buffer, s_ref.buffer)
        if theta is strided:
            expected = before.copy()
            expected[::2, ::3] = reference
            assert not np.array_equal(expected, before)  # the steps moved the view's entries
            # the updates landed in the caller's array ``base``, and nowhere else in it
            np.testing.assert_array_equal(base, expected)


def test_gradient_that_aliases_theta_is_read_before_theta_is_written():
    opt = gdlib.SGD(eta=0.25)
    theta = np.array([4.0, -8.0])
    opt.step(theta, theta, opt.init(theta))  # g = θ: θ ← θ − 0.25 θ
    np.testing.assert_array_equal(theta, [3.0, -6.0])


def test_state_is_visible_and_shaped_like_theta():
    opt = gdlib.AMSGrad()
    theta = np.ones((2, 3), dtype=np.float32)
    state = opt.init(theta)
    opt.step(theta, np.full((2, 3), 0.5, np.float32), state)
    assert state.t == 1
    for name in ("m", "v", "v_hat"):
        assert getattr(state, name).shape == (2, 3) and getattr(state, name).dtype == np.float32
    assert "AMSGrad" in repr(state) and "v_hat" in repr(state)
    assert repr(opt).startswith("AMSGrad(eta=0.001")


def test_state_copy_is_independent_and_resumes_identically():
    opt = gdlib.Nadam(eta=0.1, form="dozat")  # uses both counters (t and the product of μ)
    theta = np.array([1.0, -2.0, 3.0])
    state = opt.init(theta)
    opt.step(theta, np.array([0.5, -1.0, 2.0]), state)
    saved, theta_saved = state.copy(), theta.copy()
    assert (saved.t, saved.names, saved.shape, saved.optimizer_name) == (1, state.names, state.shape, "Nadam")
    np.testing.assert_array_equal(saved.buffer, state.buffer)
    np.testing.assert_array_equal(saved.counters, state.counters)
    assert not np.shares_memory(saved.buffer, state.buffer) and saved.counters is not state.counters
    assert np.shares_memory(saved.m, saved.buffer) and np.shares_memory(saved.v, saved.buffer)
    g = np.array([-0.3, 0.2, 0.1])
    opt.step(theta, g, state)
    assert saved.t == 1  # the copy did not move with the original
    opt.step(theta_saved, g, saved)  # resuming from the copy repeats the step exactly
    np.testing.assert_array_equal(theta_saved, theta)
    np.testing.assert_array_equal(saved.buffer, state.buffer)
    np.testing.assert_array_equal(saved.counters, state.counters)


@pytest.mark.parametrize("cls", gdlib.ALL, ids=lambda c: c.__name__)
def test_hyperparameters_and_repr_follow_the_constructor(cls):
    """hyperparameters() lists the constructor's arguments in its order, and repr()
    rebuilds an equal optimizer."""
    import inspect

    names = [n for n in inspect.signature(cls).parameters if n != "check_finite"]
    opt = cls()
    assert list(opt.hyperparameters()) == names
    again = eval(repr(opt), {cls.__name__: cls})
    assert again.hyperparameters() == opt.hyperparameters()
    np.testing.assert_array_equal(again.hyper, opt.hyper)
