"""The compiled loop runs the same packed step as Optimizer.step: identical paths,
in the generic loop (compiled once for all optimizers) and in the specialised one
(``specialise=True``, compiled per optimizer and gradient)."""

import os
import shutil
import sys

import numba
import numpy as np
import pytest

import gdlib
from cases import CASES
from objectives import quadratic_gradient, rosenbrock_gradient, tiled_quadratic_gradient


@pytest.mark.parametrize("specialise", [False, True], ids=["generic", "specialised"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id, make", [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_compiled_run_is_bit_identical_to_python_steps(case_id, make, dtype, specialise):
    opt = make()
    layers = getattr(opt, "layers", None)  # LARS and LAMB cases: θ of the size their layers cover
    n = 2 if layers is None else layers.size
    start = np.tile([-1.2, 1.0], n // 2).astype(dtype)
    gradient = quadratic_gradient if n == 2 else tiled_quadratic_gradient
    theta0 = start.copy()
    result = gdlib.run_compiled(opt, gradient, theta0, 300, specialise=specialise)
    if layers is None:
        assert result.status == "ok" and result.steps == 300
    else:  # LARS with η = 2 leaves this quadratic (θ overflows near step 200): compare the steps taken
        assert result.status in ("ok", "diverged", "nonfinite_gradient") and result.steps >= 10, result.steps
    theta = theta0.copy()
    state = opt.init(theta)
    g = np.empty_like(theta)
    path = [theta.copy()]
    for _ in range(result.steps):
        gradient(opt.lookahead(theta, state), g)
        opt.step(theta, g, state)
        path.append(theta.copy())
    np.testing.assert_array_equal(result.trajectory, np.array(path))
    np.testing.assert_array_equal(result.state.buffer, state.buffer)
    assert result.state.t == state.t == result.steps
    np.testing.assert_array_equal(theta0, start)  # start not modified


def test_compiled_run_stops_when_the_gradient_overflows():
    # SGD with η = 0.05 on Rosenbrock from (−1.2, 1) blows up within a few steps.
    result = gdlib.run_compiled(gdlib.SGD(eta=0.05), rosenbrock_gradient, np.array([-1.2, 1.0]), 1000)
    assert result.status == "nonfinite_gradient"
    assert 0 < result.steps < 1000
    assert np.all(np.isfinite(result.trajectory))  # stopped before the bad update
    assert np.abs(result.trajectory[-1]).max() > 1e10


def test_compiled_run_stops_when_theta_becomes_infinite():
    # On the quadratic the gradient stays finite as long as θ does; η = 1 on curvature 10 diverges.
    result = gdlib.run_compiled(gdlib.SGD(eta=1.0), quadratic_gradient, np.array([1.0, 1.0]), 5000)
    assert result.status in ("diverged", "nonfinite_gradient")
    assert result.steps < 5000


@numba.njit
def _huge_constant_gradient(x, out):
    out[:] = 1e300


def test_compiled_run_reports_divergence_after_the_step_that_overflowed_theta():
    # g = 1e300 is finite; one step of η = 1e10 takes θ to −inf: status "diverged" after that step.
    result = gdlib.run_compiled(gdlib.SGD(eta=1e10), _huge_constant_gradient, np.array([1.0, 2.0]), 5)
    assert result.status == "diverged" and result.steps == 1
    assert np.all(result.trajectory[0] == [1.0, 2.0]) and np.all(result.trajectory[1] == -np.inf)


def test_compiled_run_without_recording():
    result = gdlib.run_compiled(gdlib.Adam(eta=0.01), rosenbrock_gradient, np.array([-1.2, 1.0]), 50, record=False)
    assert result.trajectory is None and result.steps == 50 and result.state.t == 50


@pytest.mark.parametrize("specialise", [False, True], ids=["generic", "specialised"])
def test_both_loops_stop_alike(specialise):
    # the three ways a run ends, in either loop: same status, steps and path
    for opt, gradient, start, n in [(gdlib.SGD(eta=0.05), rosenbrock_gradient, [-1.2, 1.0], 1000),
                                    (gdlib.SGD(eta=1e10), _huge_constant_gradient, [1.0, 2.0], 5),
                                    (gdlib.Adam(eta=0.01), rosenbrock_gradient, [-1.2, 1.0], 50)]:
        generic = gdlib.run_compiled(opt, gradient, np.array(start), n)
        other = gdlib.run_compiled(opt, gradient, np.array(start), n, specialise=specialise)
        assert (other.status, other.steps) == (generic.status, generic.steps)
        np.testing.assert_array_equal(other.trajectory, generic.trajectory)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [lambda: gdlib.Adam(eta=0.05), lambda: gdlib.Nesterov(eta=0.05)],
                         ids=["Adam", "Nesterov"])
def test_training_is_bit_identical_in_both_loops(make, dtype):
    # a look-ahead optimizer and one at θ, with gradient noise and clipping on, recorded per step
    data = gdlib.data.blobs(n=60, p=3, seed=1)
    kwargs = dict(epochs=2, batch_size=7, gradient_noise=(0.01, 0.55), clip=gdlib.clipping.ByGlobalNorm(1.0),
                  record_steps=True, dtype=dtype)
    generic = gdlib.train(gdlib.models.SoftmaxRegression(3, 3), make(), data, **kwargs)
    specialised = gdlib.train(gdlib.models.SoftmaxRegression(3, 3), make(), data, specialise=True, **kwargs)
    steps = 2 * -(-data.X_train.shape[0] // 7)  # two epochs of ⌈n/7⌉ batches
    assert (generic.status, generic.steps) == (specialised.status, specialised.steps) == ("ok", steps)
    np.testing.assert_array_equal(generic.theta, specialised.theta)
    np.testing.assert_array_equal(generic.state.buffer, specialised.state.buffer)
    assert generic.history.step_loss == specialised.history.step_loss


def test_specialise_must_be_a_bool():
    with pytest.raises(TypeError, match="specialise must be True or False"):
        gdlib.run_compiled(gdlib.SGD(), quadratic_gradient, np.ones(2), 3, specialise="yes")


@pytest.mark.parametrize("module", ["_numba.py", "norms.py", "clipping.py", "epoch.py", "models/linear.py",
                                    "optim/_moments.py", "optim/lars.py"])
def test_editing_any_gdlib_source_changes_the_stamp_of_every_cached_function(module, tmp_path):
    """A compiled function takes in the kernels it calls from other files (LARS the norms, the epoch
    the clipping and the models), and Numba's cache only watches its own file: gdlib's functions
    are cached against the digest of all of gdlib's sources, so that an edit anywhere never loads
    machine code compiled from the old source."""
    from gdlib import _numba

    copy = tmp_path / "gdlib"
    shutil.copytree(os.path.dirname(os.path.abspath(gdlib.__file__)), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = _numba.sources_digest(copy)
    assert before == _numba.package_stamp()  # the same sources, the same digest
    with open(copy / module, "a") as f:
        f.write("\n# an edit\n")
    assert _numba.sources_digest(copy) != before


def test_every_cached_gdlib_function_is_stamped_with_the_whole_package():
    from numba.core.registry import CPUDispatcher

    from gdlib import _numba

    seen = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("gdlib"):
            continue
        for value in vars(module).values():
            for dispatcher in getattr(value, "dispatch", None), getattr(value, "serial", None), value:
                if isinstance(dispatcher, CPUDispatcher) and dispatcher._cache.__class__.__name__ != "NullCache":
                    locator = dispatcher._cache._impl._locator
                    assert isinstance(locator, _numba._PackageStamped), (name, dispatcher)
                    assert locator.get_source_stamp() == _numba.package_stamp()
                    seen += 1
    assert seen > 50


def test_the_specialised_cache_name_follows_the_package_and_the_gradient(monkeypatch):
    """A specialised loop cached next to a gradient outside gdlib carries gdlib's digest in its name."""
    from gdlib import _numba
    from gdlib.optim import specialise

    before = specialise.source_stamp(quadratic_gradient)
    monkeypatch.setattr(_numba, "package_stamp", lambda: "edited")
    assert specialise.source_stamp(quadratic_gradient) != before
