"""Grade a whole class: nbgrader's workflow, with every score computed in the sandbox.

One path computes scores, whoever starts it: the student's answer cells
(found by the grade ids the gradebook holds for the assignment, never by the
submission's own metadata) run in a :class:`~autograde.sandbox.SandboxCaller`
and each test cell's score is recomputed by :mod:`autograde.checker` outside
the sandbox (:mod:`autograde.engine`).

* ``nbgrader autograde`` (the command line or the formgrader's button) runs it
  through :class:`autograde.nbgrader_plugin.SandboxGrade`, which the course's
  ``nbgrader_config.py`` puts in place of nbgrader's ``Execute``: nbgrader
  never runs a student's code in an ordinary kernel.
* ``python -m autograde grade`` (:func:`grade_class`) works in three steps:

  1. it grades every submission that is new or changed (:mod:`autograde.journal`
     says which) as a task of plain data, here, in ``jobs`` worker processes,
     or on a Dask cluster (:mod:`autograde.cluster`), and keeps each result
     on disk as it arrives;
  2. nbgrader's converters, started once in this process, then record them
     all (:class:`autograde.nbgrader_plugin.NbgraderSession`): the autograde
     converter over every graded student of each assignment, its
     ``SandboxGrade`` reading the kept results instead of running the code
     again, then the feedback converter; nbgrader starts once per run, not
     once per student;
  3. this process checks the scores nbgrader left in the gradebook, records
     those nbgrader could not, journals each submission and exports the CSV.
     The workers only compute: the gradebook has one writer at a time, this
     process.

A submission that breaks anything gets zero for what it broke and a line
saying why; it never stops the run, and a failure of ours leaves the grades
the gradebook held before.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import nbformat

from . import course, engine, journal
from .engine import grade_notebook, linked  # noqa: F401 (the grading API: bench, nbgrader_plugin)
from .export import export_grades
from .feedback import install_mathjax
from .journal import UsageError, gradebook_scores, plan  # noqa: F401 (plan: the grading API)
from .sandbox import require_sandbox

NO_SANDBOX_WARNING = ("WARNING: graded WITHOUT the sandbox (--no-sandbox): the students' code ran with your rights, "
                      "able to read and change every file you can. Use it for trusted submissions only.")


# -------------------------------------------------------------- the gradebook
def trusted_cells(gb, assignment):
    """From the gradebook (built from the instructor's source): per notebook, the
    answer cells' ids in order and the graded test cells with their points."""
    layout = {}
    for nb in gb.find_assignment(assignment).notebooks:
        answers = [c.name for c in sorted(nb.source_cells, key=lambda c: c.id) if c.cell_type == "code"
                   and c.name in {s.name for s in nb.solution_cells}]
        tests = {c.name: c.max_score for c in nb.grade_cells if c.cell_type == "code"}
        layout[nb.name] = (answers, tests)
    return layout


def test_cell_outputs(result):
    """The outputs of a test cell: the report, then the score as nbgrader's partial credit."""
    return [nbformat.v4.new_output("stream", name="stdout",
                                   text="Graded in a sandbox against gdlib:\n" + result.report() + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(round(float(result.score), 6))},
                                   execution_count=None)]


def record_scores(gb, student, assignment, notebook, results):
    """Write the scores into the gradebook; {grade_id: score}."""
    scores = {}
    for grade_id, result in results.items():
        grade = gb.find_grade(grade_id, notebook, assignment, student)
        grade.auto_score = round(float(result.score), 6)
        grade.needs_manual_grade = False
        scores[grade_id] = grade.auto_score
    gb.db.commit()
    return scores


def _plain_feedback(path, results):
    """Feedback for a notebook that nbgrader could not process: the reports as a plain page."""
    import html

    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(html.escape(r.report()) for r in results.values())
    path.write_text(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(path.stem)}</title>"
                    f"</head><body><h1>{html.escape(path.stem)}</h1>\n<pre>{body}</pre></body></html>\n")


def _write_feedback(autograded, results):
    """Replace each test cell's output in the autograded notebook with the trusted report."""
    nb = nbformat.read(autograded, as_version=4)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id in results:
            cell.outputs = test_cell_outputs(results[grade_id])
    nbformat.write(nb, autograded)


def _release_if_needed(root, assignments, versions):
    """Let the gradebook learn each assignment's cells from the instructor's source (skipped when
    the gradebook already knows this version of it)."""
    from nbgrader.api import Gradebook, MissingEntry

    stamp = root / ".grading" / "released.json"
    try:
        released = json.loads(stamp.read_text())
    except (OSError, ValueError):
        released = {}
    db = root / ".grading" / "gradebook.db"
    stale = list(assignments)
    if db.exists():
        with Gradebook(f"sqlite:///{db}") as gb:
            stale = []
            for a in assignments:
                try:
                    known = bool(gb.find_assignment(a).notebooks)
                except MissingEntry:
                    known = False
                if not known or released.get(a) != versions[a]:
                    stale.append(a)
    if stale:
        from .nbgrader_plugin import NbgraderSession

        with tempfile.TemporaryDirectory() as scratch, NbgraderSession(root) as nbg:
            for a in stale:
                outcome = nbg.release(a, scratch)
                if not outcome["success"]:
                    raise RuntimeError(f"nbgrader generate_assignment {a} failed:\n{outcome.get('error', '')}")
        released.update({a: versions[a] for a in stale})
        stamp.write_text(json.dumps(released, indent=1))


def _restore(db_url, student, assignment, previous):
    """After a failure of ours, put back the grades the gradebook held before: a grade is never lost
    (and the journal, which has no entry for this run, grades the submission again next time)."""
    from nbgrader.api import Gradebook

    try:
        with Gradebook(db_url) as gb:
            for notebook, scores in (previous or {}).items():
                for grade in gb.find_submission_notebook(notebook, assignment, student).grades:
                    if grade.name in scores:
                        grade.auto_score = scores[grade.name]
            gb.db.commit()
    except Exception:  # the gradebook itself is unusable: the problem line already says so
        pass


def _say(progress, message):
    if progress:
        print(message, file=sys.stderr, flush=True)


def _nbgrader_pass(root, students, *, call_timeout, sandbox):
    """Step 2: nbgrader's converters, started once, record the kept results of ``students``
    ({assignment: [student]}) and write their feedback; {assignment: {step: nbgrader's outcome}}."""
    from .nbgrader_plugin import NbgraderSession

    report = {}
    with NbgraderSession(root, call_timeout=call_timeout, no_sandbox=not sandbox,
                         results_dir=root / ".grading" / "results") as nbg:
        for assignment, names in sorted(students.items()):
            report[assignment] = {"autograde": nbg.autograde(assignment, names),
                                  "feedback": nbg.feedback(assignment, names)}
    return report


# ---------------------------------------------------------------- the class
def _compute(root, todo, versions, checks, *, force, sandbox, call_timeout, jobs, client, bar, problems):
    """Step 1: {(student, assignment): results} and {assignment: layout}, each result kept on disk."""
    from nbgrader.api import Gradebook

    from .journal import load_results, result_key, store_results

    results_dir = root / ".grading" / "results"
    db_url = f"sqlite:///{root / '.grading' / 'gradebook.db'}"
    ready, layouts, tasks, keys = {}, {}, [], {}
    for student, assignment, _ in todo:
        try:
            if assignment not in layouts:
                with Gradebook(db_url) as gb:
                    layouts[assignment] = trusted_cells(gb, assignment)
            keys[student, assignment] = key = result_key(root, student, assignment, course=versions[assignment],
                                                         checks=checks, sandbox=sandbox, call_timeout=call_timeout)
            kept = None if force else load_results(results_dir, student, assignment, key)
            if kept is not None:  # computed by an interrupted run: not run again
                ready[student, assignment] = kept
            else:
                tasks.append(engine.make_task(root, student, assignment, layouts[assignment], sandbox=sandbox,
                                              call_timeout=call_timeout))
        except Exception:
            problems.append(f"{student}/{assignment}: {traceback.format_exc(limit=3)}")
    if bar is not None:
        bar.update(len(ready))
    if client is not None:
        from .cluster import run_on_dask

        finished = run_on_dask(tasks, client)
    else:
        finished = engine.run_tasks(tasks, jobs)
    for task, result, error in finished:
        student, assignment = task["student"], task["assignment"]
        if error is None:
            store_results(results_dir, student, assignment, keys[student, assignment], result)
            ready[student, assignment] = result
        else:
            problems.append(f"{student}/{assignment}: grading failed, nothing recorded: {error}")
        if bar is not None:
            bar.set_postfix(student=student, assignment=assignment)
            bar.update(1)
    return ready, layouts


def _record(root, ready, layouts, versions, checks, *, sandbox, call_timeout, problems, progress):
    """Steps 2 and 3: the gradebook, the feedback and the journal; how many submissions were recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    db_url = f"sqlite:///{root / '.grading' / 'gradebook.db'}"
    previous, links = {}, set()
    with Gradebook(db_url) as gb:  # nothing of an earlier grading may pass for this one
        for student in sorted({s for s, _ in ready}):  # the CSV lists students in the order the gradebook met them
            gb.update_or_create_student(student)
        for student, assignment in sorted(ready):
            previous[student, assignment] = gradebook_scores(gb, student, assignment)
            for notebook in previous[student, assignment] or {}:
                for grade in gb.find_submission_notebook(notebook, assignment, student).grades:
                    grade.auto_score = None
        gb.db.commit()
    for student, assignment in sorted(ready):
        folder = root / "submitted" / student / assignment
        if folder.is_symlink() or folder.parent.is_symlink() or any(p.is_symlink() for p in folder.rglob("*")):
            links.add((student, assignment))  # nbgrader would follow them and show what they point to
            for kind in ("autograded", "feedback"):
                shutil.rmtree(root / kind / student / assignment, ignore_errors=True)
            problems.append(f"{student}/{assignment}: links in the submission: not read, graded zero")
    students = {}
    for student, assignment in sorted(set(ready) - links):
        students.setdefault(assignment, []).append(student)
    why = "nbgrader did not record it"
    if students:
        _say(progress, "autograde: recording the grades and writing the feedback (nbgrader) ...")
        try:
            report = _nbgrader_pass(root, students, call_timeout=call_timeout, sandbox=sandbox)
            for assignment, steps in sorted(report.items()):
                for step, outcome in sorted(steps.items()):
                    if not outcome.get("success"):
                        problems.append(f"nbgrader {step} {assignment}: {outcome.get('error', '')[-300:]}".strip())
        except Exception as exc:  # a hung or broken nbgrader: the grades are recorded below all the same
            why = f"nbgrader failed: {type(exc).__name__}: {exc}"
    recorded = 0
    for student, assignment in sorted(ready):
        try:
            with Gradebook(db_url) as gb:
                try:
                    gb.find_submission(assignment, student)
                except MissingEntry:  # nbgrader could not even record it: record it here
                    gb.update_or_create_student(student)
                    gb.add_submission(assignment, student)
                held = gradebook_scores(gb, student, assignment)
                graded = engine.as_graded(ready[student, assignment])
                for notebook, (_, tests) in layouts[assignment].items():
                    if all(held.get(notebook, {}).get(g) is not None for g in tests):
                        continue  # nbgrader recorded it
                    if (student, assignment) not in links:
                        problems.append(f"{student}/{assignment}: {why} ({notebook}); recorded here instead")
                    results = graded[notebook]
                    record_scores(gb, student, assignment, notebook, results)
                    autograded = root / "autograded" / student / assignment / f"{notebook}.ipynb"
                    if autograded.exists():
                        _write_feedback(autograded, results)
                    _plain_feedback(root / "feedback" / student / assignment / f"{notebook}.html", results)
                held = gradebook_scores(gb, student, assignment)
        except Exception:
            problems.append(f"{student}/{assignment}: {traceback.format_exc(limit=3)}")
            _restore(db_url, student, assignment, previous.get((student, assignment)))
            continue
        journal.append(root, {
            "student": student, "assignment": assignment,
            "submission": journal.submission_hash(root, student, assignment), "course": versions[assignment],
            "checks": checks, "sandbox": sandbox, "gradebook": held,
            "autograded": journal.autograded_hash(root, student, assignment)})
        recorded += 1
    return recorded


def grade_class(root=course.ROOT, assignments=course.ASSIGNMENTS, *, students=None, force=False, csv="grades.csv",
                call_timeout=10.0, progress=True, sandbox=True, dry_run=False, jobs=None,
                client=None):
    """Grade every new or changed submission; export the grades. Returns the summary for the instructor.

    ``jobs`` worker processes grade at once (default: the number of cores); ``client`` (a
    :class:`distributed.Client` or a scheduler's address) grades on a Dask cluster instead.
    Raises :class:`~autograde.sandbox.SandboxUnavailable` (nothing graded) where bubblewrap cannot
    isolate (here, or on a Dask worker), unless ``sandbox=False`` (trusted code only: the summary
    says so loudly)."""
    root = Path(root).resolve()
    _say(progress, f"autograde: looking at {root / 'submitted'} ...")
    todo, submissions, versions, checks = plan(root, assignments, students, force, sandbox)
    if dry_run:
        lines = [f"would grade {len(todo)} of {len(submissions)} submissions:"]
        lines += [f"  {s}/{a}: {why}" for s, a, why in todo]
        return "\n".join(lines)
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    closing = []
    try:
        if todo and client is not None:
            from .cluster import connect, probe_workers

            client, closing = connect(client)
            _say(progress, "autograde: checking the Dask workers (each must run the sandbox) ...")
            probe_workers(client, sandbox)
        elif sandbox and todo:
            _say(progress, "autograde: checking the sandbox (bubblewrap) ...")
            engine.use_sandbox(require_sandbox())
        (root / ".grading").mkdir(exist_ok=True)
        if todo:
            _say(progress, "autograde: preparing the gradebook ...")
            _release_if_needed(root, assignments, versions)
        problems = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="grading", unit="submission", file=sys.stderr)
        try:
            ready, layouts = _compute(root, todo, versions, checks, force=force, sandbox=sandbox,
                                      call_timeout=call_timeout, jobs=jobs, client=client, bar=bar,
                                      problems=problems)
        finally:
            if bar is not None:
                bar.close()
    finally:
        for thing in reversed(closing):
            thing.close()
    recorded = _record(root, ready, layouts, versions, checks, sandbox=sandbox, call_timeout=call_timeout,
                       problems=problems, progress=progress) if ready else 0
    if todo or not (root / "feedback" / "_static").exists():
        try:  # the feedback pages load MathJax from feedback/_static
            install_mathjax(root / "feedback")
        except OSError as exc:
            problems.append(f"the feedback's math will not render offline: {exc}")
    exported, db = root / csv, root / ".grading" / "gradebook.db"
    if todo or not exported.exists() or not db.exists() or exported.stat().st_mtime < db.stat().st_mtime:
        _say(progress, "autograde: exporting the grades ...")
        export_grades(root, csv)
    lines = [f"graded {recorded} of {len(todo)} submissions ({len(submissions) - len(todo)} already done); "
             f"grades in {root / csv}, feedback in {root / 'feedback'}"]
    lines += [f"problem: {p}" for p in problems]
    if not sandbox:
        lines = [NO_SANDBOX_WARNING, *lines, NO_SANDBOX_WARNING]
    return "\n".join(lines)
