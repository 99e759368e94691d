"""A second process loads every compiled kernel from Numba's cache instead of recompiling."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gdlib
    sys.path.insert(0, "tests")
    from objectives import quadratic_gradient

    for cls in gdlib.ALL:
        opt = cls()
        for dtype in (np.float32, np.float64):
            theta = np.ones(3, dtype)
            state = opt.init(theta)
            opt.step(theta, np.full(3, 0.5, dtype), state)
            for specialise in (False, True):
                gdlib.run_compiled(opt, quadratic_gradient, np.ones(2, dtype), 3, specialise=specialise)
    gdlib.trajectory(gdlib.Nesterov(), "beale", n_steps=3, specialise=True)
    blobs = gdlib.data.blobs(n=40, p=3, seed=0)
    for opt in (gdlib.Adam(), gdlib.Nesterov()):
        for specialise in (False, True):
            gdlib.train(gdlib.models.SoftmaxRegression(3, 3), opt, blobs, epochs=1, batch_size=8,
                        specialise=specialise)
    misses = {}
    for cls in gdlib.ALL:
        stats = cls._packed_step.stats
        misses[cls.__name__] = sum(stats.cache_misses.values())
        # the default step: the finite check fused with the packed step (gdlib.optim.base.checked_step)
        misses[cls.__name__ + "._checked_step"] = sum(cls._checked_step.stats.cache_misses.values())
    # the generic run and epoch loops (compiled once for all optimizers, eager signatures)
    from gdlib.optim.loop import RUNS
    from gdlib.epoch import EPOCHS
    for loop in (*RUNS.values(), *EPOCHS.values()):
        misses[loop.py_func.__name__] = sum(loop.stats.cache_misses.values())
    # the loops specialised (specialise=True) for each (step, look-ahead, gradient or model) and the trajectory's values of J
    from gdlib.optim.specialise import LOOPS
    from gdlib.trajectory import _VALUES
    assert (len(LOOPS), len(_VALUES)) == (len(gdlib.ALL) + 1 + 2, 1), (LOOPS, _VALUES)
    for compiled in [*LOOPS.values(), *_VALUES.values()]:
        misses[compiled.py_func.__name__] = sum(compiled.stats.cache_misses.values())
    # the serial/parallel dispatch generated for each kernel (gdlib._numba.Twins.dispatch)
    import importlib, pkgutil
    from gdlib._numba import Twins
    for info in pkgutil.iter_modules(gdlib.optim.__path__):
        module = importlib.import_module("gdlib.optim." + info.name)
        for name, value in vars(module).items():
            if isinstance(value, Twins) and value.dispatch.stats.cache_misses is not None:
                misses[f"{info.name}.{name}.dispatch"] = sum(value.dispatch.stats.cache_misses.values())
    assert any(key.endswith(".dispatch") for key in misses), misses
    print(json.dumps(misses))
    """
)


def _run_fresh_process():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                         cwd=os.path.join(os.path.dirname(__file__), ".."))
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing():
    # Warm the cache if this checkout (or, after an edit, this version of gdlib) has never run. Twice:
    # a step called from Python is saved under its argument types, and the same step converted to a
    # first-class function (the generic loops) is looked up under its full signature, a key the
    # first process finds in memory but only the second one saves.
    _run_fresh_process()
    _run_fresh_process()
    misses = _run_fresh_process()
    assert misses == {name: 0 for name in misses}, misses


THRESHOLD_SCRIPT = textwrap.dedent(
    """
    import json, time
    import numpy as np
    import gdlib
    opt = gdlib.Adam()
    theta, g = np.ones(40_000), np.full(40_000, 0.5)  # below the default 50 000
    state = opt.init(theta)
    opt.step(theta, g, state)
    main0, all0 = time.thread_time(), time.process_time()
    for _ in range(2000):
        opt.step(theta, g, state)
    main1, all1 = time.thread_time(), time.process_time()
    print(json.dumps(dict(
        threshold=float(opt.hyper[-1]),
        main=main1 - main0,
        others=(all1 - all0) - (main1 - main0),   # CPU time of every thread but this one
        # the default step calls Adam._checked_step (the check fused with adam_step)
        misses=sum(opt._checked_step.stats.cache_misses.values()),
        hits=sum(opt._checked_step.stats.cache_hits.values()),
    )))
    """
)


def _threshold_run(value):
    env = dict(os.environ)
    env.pop("GDLIB_PARALLEL_MIN_SIZE", None)
    if value is not None:
        env["GDLIB_PARALLEL_MIN_SIZE"] = value
    out = subprocess.run([sys.executable, "-c", THRESHOLD_SCRIPT], capture_output=True, text=True, check=True,
                         env=env, cwd=os.path.join(os.path.dirname(__file__), ".."))
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parallel_threshold_takes_effect_with_a_warm_cache():
    """GDLIB_PARALLEL_MIN_SIZE picks the twin in a fresh process whose
    compiled step comes from the cache (it used to be frozen into the
    cached machine code at the first compilation, and silently ignored).
    Which twin ran is seen from the CPU time of the other threads: Numba's
    worker threads only work in the parallel twin."""
    _threshold_run(None)  # warms the cache if needed
    default = _threshold_run(None)
    forced = _threshold_run("0")
    serial = _threshold_run("1000000000")
    for run in (default, forced, serial):
        assert run["misses"] == 0 and run["hits"] >= 1, run  # loaded from the cache, not recompiled
    assert default["threshold"] == 50_000 and forced["threshold"] == 0 and serial["threshold"] == 1e9
    # 40 000 elements, 2000 steps: serial by default, parallel when the threshold is 0; the
    # parallel twin gives the other threads real work (tens of ms), not only their spinning
    assert default["others"] < 0.2 * default["main"] + 2e-3, default
    assert serial["others"] < 0.2 * serial["main"] + 2e-3, serial
    assert forced["others"] > 10e-3, forced


def test_an_edit_in_another_file_is_never_served_from_a_stale_cache(tmp_path):
    """clip_kernel (gdlib/clipping.py) compiles in the norm of gdlib/norms.py. Numba's own cache
    only watches clipping.py, so after an edit of norms.py it would load the old machine code;
    gdlib stamps every cached function with the digest of all its sources
    (``gdlib._numba.package_stamp``), so the edit is compiled in."""
    import shutil

    import gdlib

    copy = tmp_path / "gdlib"
    shutil.copytree(os.path.dirname(os.path.abspath(gdlib.__file__)), copy)  # with its warm caches
    script = ("import numpy as np\nfrom gdlib.clipping import ByGlobalNorm, clip_kernel\n"
              "c = ByGlobalNorm(1.0); g = np.full(16, 3.0); clip_kernel(c.kind, c.params, g); print(g[0])\n")

    def run():
        out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})
        return float(out.stdout)

    assert run() == pytest.approx(0.25, rel=1e-12)  # ‖g‖ = 12: g / 12
    norms = copy / "norms.py"
    source = norms.read_text()
    assert source.count("        total += s * s\n") == 1
    norms.write_text(source.replace("        total += s * s\n", "        total += s * s + 1.0\n"))  # ‖g‖² + 16
    assert run() == pytest.approx(3.0 / np.sqrt(16 * 10.0), rel=1e-12)  # not 0.25 from the old code
