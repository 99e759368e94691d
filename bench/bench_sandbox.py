"""What the bubblewrap sandbox costs the grader, against the same child without isolation.

* start: from nothing to the first answer (bwrap, Python, NumPy, the
  student's cells loaded), which happens once per submission and again after
  every crash or timeout;
* call: one round trip of a small call once the child runs;
* submission: grading the solution of ``adam_family`` (20 points, every case
  of four questions), the trusted pass of one submission without nbgrader.

Median of a few runs each. Run: ``python bench/bench_sandbox.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from autograde.grade import grade_notebook
from autograde.sandbox import SandboxCaller, require_sandbox

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "import numpy as np\ndef f(x):\n    return x + 1\n"
TESTS = {f"check_{q}_step": 5 for q in ("adam", "adamax", "nadam", "amsgrad")}
ANSWERS = [f"{q}_answer" for q in ("adam", "adamax", "nadam", "amsgrad")]


def _median(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(sandbox, repeat=5):
    def start():
        with SandboxCaller(SOURCE, sandbox=sandbox) as caller:
            caller.call("f", 1)

    with SandboxCaller(SOURCE, sandbox=sandbox) as caller:
        caller.call("f", 1)
        call = _median(lambda: caller.call("f", 1), 200)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "adam_family.ipynb"
        nbformat.write(nbformat.read(ROOT / "solutions" / "adam_family" / "adam_family.ipynb", as_version=4), path)
        submission = _median(lambda: grade_notebook(path, ANSWERS, TESTS, sandbox, 10.0), max(1, repeat // 2))
    return _median(start, repeat), call, submission


def main():
    rows = {"bubblewrap": measure(require_sandbox()), "no sandbox": measure(None)}
    print(f"{'':12} {'start (s)':>10} {'call (ms)':>10} {'submission (s)':>15}")
    for name, (start, call, submission) in rows.items():
        print(f"{name:12} {start:10.3f} {call * 1e3:10.3f} {submission:15.3f}")
    (s1, c1, g1), (s0, c0, g0) = rows.values()
    print(f"sandbox cost: {s1 - s0:+.3f} s per start, {(c1 - c0) * 1e3:+.3f} ms per call, "
          f"{g1 - g0:+.3f} s per submission")


if __name__ == "__main__":
    main()
