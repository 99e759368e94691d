"""A second process loads every compiled kernel from Numba's cache instead of recompiling."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gdlib
    sys.path.insert(0, "tests")
    from objectives import quadratic_gradient
    from gdlib.optim.loop import _run

    for cls in gdlib.ALL:
        opt = cls()
        for dtype in (np.float32, np.float64):
            theta = np.ones(3, dtype)
            state = opt.init(theta)
            opt.step(theta, np.full(3, 0.5, dtype), state)
            gdlib.run_compiled(opt, quadratic_gradient, np.ones(2, dtype), 3)
    misses = {}
    for cls in gdlib.ALL:
        stats = cls._packed_step.stats
        misses[cls.__name__] = sum(stats.cache_misses.values())
    misses["_run"] = sum(_run.stats.cache_misses.values())
    print(json.dumps(misses))
    """
)


def _run_fresh_process():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                         cwd=os.path.join(os.path.dirname(__file__), ".."))
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing():
    _run_fresh_process()  # warms the cache if this checkout has never run
    misses = _run_fresh_process()
    assert misses == {name: 0 for name in misses}, misses
