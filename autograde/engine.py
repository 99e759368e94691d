"""Grading one submission, wherever it runs: the work the grader hands out.

The grading process reads each submitted notebook (the student's answer
cells, found by the grade ids the gradebook holds) and makes a *task* of plain
data (:func:`make_task`): per notebook, the answer cells or a note saying why
there are none, and the test cells with their points. :func:`grade_task` runs
it: the student's code in a :class:`~autograde.sandbox.SandboxCaller`, the
checks (and gdlib's references) in the process that runs the task. It returns
plain data too: per test cell the score, the points and the report. Only
these travel; the gradebook, the course directory and the feedback stay with
the grading process, its one writer.

The tasks run one after the other in the grading process (``jobs=1``), in a
pool of ``jobs`` worker processes forked from it (:func:`run_tasks`; they
start with the checks loaded, die with the grader, and each starts one
sandbox per notebook), or as Dask tasks (:mod:`autograde.cluster`). The
checks use fixed seeds, so every way gives the same grades.
"""

from __future__ import annotations

import os
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .checker import CaseResult, QuestionResult, check
from .sandbox import SandboxCaller, require_sandbox

PRELUDE = "import numpy as np\nimport math\n"


@dataclass
class Graded:
    """A test cell's result as the grading process keeps it: the score and the report's text."""

    score: float
    points: float
    text: str

    def report(self):
        return self.text

    def as_dict(self):
        return {"score": self.score, "points": self.points, "report": self.text}


def linked(path):
    """True if the notebook ``submitted/<student>/<assignment>/<notebook>.ipynb`` or a folder above it
    (up to submitted/) is a link: a link would read someone else's work (a classmate's, the solutions)."""
    path = Path(path)
    return any(p.is_symlink() for p in (path, path.parent, path.parent.parent))


def student_source(path, answer_ids):
    """The student's code: [(cell id, source)] of their answer cells, looked up by grade id, in the
    source's order, after a prelude of the usual imports; and a note for the student ('' if none)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # unreadable notebook: no code
        return None, f"the notebook could not be read ({type(exc).__name__})"
    by_id, seen = {}, {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not isinstance(grade_id, str):
            continue
        seen[grade_id] = seen.get(grade_id, 0) + 1
        if cell.get("cell_type") == "code" and grade_id in answer_ids and grade_id not in by_id:
            by_id[grade_id] = cell.get("source", "")
    missing = [a for a in answer_ids if a not in by_id]
    twice = [g for g in answer_ids if seen.get(g, 0) > 1]
    cells = [("the imports", PRELUDE)]
    for grade_id in answer_ids:
        source = by_id.get(grade_id, "")
        # IPython magics and shell escapes are not Python: drop them
        cells.append((f"cell {grade_id}",
                      "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))))
    notes = [f"answer cells missing from the notebook: {', '.join(missing)}"] if missing else []
    notes += [f"the cell id {g} appears more than once in the notebook: only its first code cell was graded"
              for g in twice]
    return cells, "; ".join(notes)


def read_submission(path, answers):
    """(cells or None, note) of one submitted notebook (``path`` may be missing, or a link: not read)."""
    path = Path(path)
    if linked(path) or (path.exists() and not path.is_file()):
        return None, f"{path.name} is not a plain file (a link?): it was not read"
    if path.exists():
        return student_source(path, answers)
    return None, f"{path.name} was not submitted"


def grade_cells(source, note, tests, sandbox, call_timeout):
    """Grade one notebook's answer cells (``source``: [(label, code)], or None with ``note`` saying why):
    {grade_id: QuestionResult}, in the order of ``tests`` ({grade_id: points})."""
    results = {}
    caller = SandboxCaller(source or [("the imports", PRELUDE)], sandbox=sandbox, call_timeout=call_timeout)
    try:
        for grade_id, points in tests.items():
            question = grade_id.removeprefix("check_")
            if source is None:
                result = QuestionResult(question, points, [CaseResult("submission", False, note)])
            else:
                try:
                    result = check(question, caller)
                except Exception as exc:  # a failure of ours must not cost the student: report it
                    result = QuestionResult(question, points, [CaseResult(
                        "grader", False, f"internal error {type(exc).__name__}")])
                result.points = points
            if note and source is not None:
                result.diagnosis.append(note)
            results[grade_id] = result
    finally:
        caller.close()
    # what the sandbox noticed concerns the whole notebook: say it once, under the first question
    first = next(iter(results.values()), None)
    if first is not None:
        first.diagnosis.extend(caller.notes)
    return results


def grade_notebook(path, answers, tests, sandbox, call_timeout):
    """Grade one submitted notebook (``path``, which may be missing): {grade_id: QuestionResult}.
    ``answers`` and ``tests`` come from the gradebook (:func:`autograde.grade.trusted_cells`)."""
    source, note = read_submission(path, answers)
    return grade_cells(source, note, tests, sandbox, call_timeout)


# ------------------------------------------------------------------- tasks
def make_task(root, student, assignment, layout, *, sandbox, call_timeout):
    """The plain data one submission's grading needs (``layout``: {notebook: (answers, tests)})."""
    notebooks = {}
    for notebook, (answers, tests) in layout.items():
        source, note = read_submission(Path(root) / "submitted" / student / assignment / f"{notebook}.ipynb",
                                       answers)
        notebooks[notebook] = {"cells": source, "note": note, "tests": dict(tests)}
    return {"student": student, "assignment": assignment, "notebooks": notebooks, "sandbox": bool(sandbox),
            "call_timeout": float(call_timeout)}


_BOX = {}  # this process's checked sandbox (each machine builds its own: its paths, its bwrap)


def use_sandbox(box):
    """Use ``box`` (a checked :class:`~autograde.sandbox.Bubblewrap`) for the tasks run in this process."""
    _BOX["box"] = box


def local_sandbox():
    """This process's sandbox, checked on first use (:func:`~autograde.sandbox.require_sandbox`)."""
    if "box" not in _BOX:
        _BOX["box"] = require_sandbox()
    return _BOX["box"]


def grade_task(task):
    """Run one task (:func:`make_task`): {notebook: {grade_id: {score, points, report}}}."""
    box = local_sandbox() if task["sandbox"] else None
    out = {}
    for notebook, spec in task["notebooks"].items():
        cells = [tuple(c) for c in spec["cells"]] if spec["cells"] is not None else None
        results = grade_cells(cells, spec["note"], spec["tests"], box, task["call_timeout"])
        out[notebook] = {g: Graded(round(float(r.score), 6), float(r.points), r.report()).as_dict()
                         for g, r in results.items()}
    return out


def as_graded(notebooks):
    """The plain results of :func:`grade_task` as {notebook: {grade_id: Graded}}."""
    return {nb: {g: Graded(float(r["score"]), float(r["points"]), str(r["report"])) for g, r in cells.items()}
            for nb, cells in notebooks.items()}


def _worker_start():
    """A pool worker: it ends when the grader ends (and its sandboxes with it); Ctrl-C is the grader's."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the grader is already gone
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_tasks(tasks, jobs=1):
    """An iterator of (task, results or None, error or None) as each task finishes: here (``jobs=1``)
    or in a pool of ``jobs`` processes forked from this one (forked at once, before the caller starts
    any thread of its own)."""
    if jobs <= 1 or len(tasks) <= 1:
        return (_run_here(task) for task in tasks)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_start)
    futures = {pool.submit(grade_task, task): task for task in tasks}
    return _pool_results(pool, futures)


def _run_here(task):
    try:
        return task, grade_task(task), None
    except Exception:
        return task, None, traceback.format_exc(limit=3)


def _pool_results(pool, futures):
    from concurrent.futures import as_completed

    finished = False
    try:
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), None
            except Exception:  # the task raised, or its worker died (the others go on)
                yield futures[future], None, traceback.format_exc(limit=3)
        finished = True
    finally:
        if not finished:  # interrupted: end the workers now (their sandboxes end with them)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
