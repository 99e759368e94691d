"""Seconds per submission of ``python -m autograde grade`` for a synthetic class.

The class: N submissions (default 24: two thirds ``adam_family``, one third
``gd_variants``), mostly honest (the solution, the untouched release, a
misspelt function name) with a few hostile ones mixed in (an answer that
ends the process, one that kills its parent, one that prints without end, one
that never returns). Each way of grading starts from a fresh copy of the
class (nbgrader learns the assignments, grades, writes the feedback, exports):

* serial (``--jobs 1``), ``--jobs 2``, and a local Dask cluster of 2 worker
  processes (``--scheduler``; the cluster's start is timed apart);

and every way must give byte-identical grades. Also printed: where the
seconds of the serial run went. Run: ``python bench/bench_grading.py [N]``
(``make bench`` runs it). Nothing here is asserted in a timed test.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = {
    "ends": "import os\nos._exit(0)\n",
    "kills": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "prints": "def {name}(*a, **k):\n    while True:\n        print('spam' * 1000)\n",
    "loops": "def {name}(*a, **k):\n    while True:\n        pass\n",
}


def _answers(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def _function_name(source):
    return next((l.split("(")[0].removeprefix("def ").strip() for l in source.splitlines() if l.startswith("def ")),
                "f")


def make_class(root, n):
    """A course directory with ``n`` submissions in submitted/."""
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    kinds = ["solution", "release", "mistake", "solution", *HOSTILE, "solution", "release", "solution"]
    for i in range(n):
        assignment = "gd_variants" if i % 3 == 2 else "adam_family"
        nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        kind = kinds[i % len(kinds)]
        if kind == "release":
            nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
        elif kind == "mistake":  # the first answer's function misspelt: wrong, not hostile
            cell = _answers(nb)[0]
            name = _function_name(cell.source)
            cell.source = cell.source.replace(f"def {name}(", f"def {name}_(", 1)
        elif kind in HOSTILE:
            cell = _answers(nb)[-1]
            cell.source = HOSTILE[kind].format(name=_function_name(cell.source))
        folder = root / "submitted" / f"student{i:03d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")


def _timed(module, names, times):
    for name in names:
        fn = getattr(module, name)

        @functools.wraps(fn)
        def wrapper(*args, _fn=fn, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                times[_name] = times.get(_name, 0.0) + time.perf_counter() - start

        setattr(module, name, wrapper)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=24, help="submissions in the class")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds one call may take (the loops cost it)")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    import autograde.grade as grading

    imported = time.perf_counter() - start
    times = {}
    _timed(grading, ["_release_if_needed", "_compute", "_nbgrader_pass", "export_grades"], times)
    scratch = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    template = scratch / "class"
    make_class(template, args.n)
    rows, csvs, breakdown = [], {}, None

    def run(label, **kwargs):
        nonlocal breakdown
        course = scratch / label.replace(" ", "-")
        shutil.copytree(template, course)
        times.clear()
        start = time.perf_counter()
        summary = grading.grade_class(course, ["adam_family", "gd_variants"], call_timeout=args.timeout,
                                      progress=False, **kwargs)
        seconds = time.perf_counter() - start
        if f"graded {args.n} of {args.n}" not in summary:
            print(summary, file=sys.stderr)
        csvs[label] = (course / "grades.csv").read_bytes()
        rows.append((label, seconds))
        if breakdown is None:
            breakdown = dict(times)

    run("serial", jobs=1)
    run("jobs 2", jobs=2)
    if not args.no_dask:
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=40) as cluster, Client(cluster) as client:
            cluster_start = time.perf_counter() - start
            run("dask, 2 workers", client=client)
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"grading a class of {args.n} submissions (adam_family and gd_variants, {len(HOSTILE)} kinds of hostile "
          f"answer among them), from a fresh course each time")
    print(f"{'':18} {'total (s)':>10} {'per submission (s)':>19}")
    for label, seconds in rows:
        print(f"{label:18} {seconds:10.1f} {seconds / args.n:19.2f}")
    if not args.no_dask:
        print(f"(the local Dask cluster took {cluster_start:.1f} s to start, not counted above)")
    print(f"the grader's own start-up (import autograde.grade, nbgrader, gdlib): {imported:.1f} s, not counted above")
    names = {"_release_if_needed": "nbgrader learns the assignments", "_compute": "sandboxed checks (all submissions)",
             "_nbgrader_pass": "nbgrader autograde + feedback (one pass)", "export_grades": "CSV export"}
    print("where the serial run's seconds went:")
    for name, label in names.items():
        print(f"  {label:42} {breakdown.get(name, 0.0):6.1f} s")
    same = len(set(csvs.values())) == 1
    print("grades: identical in every way" if same else "GRADES DIFFER between the ways of grading")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
