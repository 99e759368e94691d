"""Grade a whole class: nbgrader's workflow, with every score computed in the sandbox.

One path computes scores, whoever starts it: :func:`grade_notebook` runs the
student's answer cells (found by the grade ids the gradebook holds for the
assignment, never by the submission's own metadata) in a
:class:`~autograde.sandbox.SandboxCaller` and recomputes each test cell's
score with :mod:`autograde.checker` in the grading process.

* ``nbgrader autograde`` (the command line or the formgrader's button) runs it
  through :class:`autograde.nbgrader_plugin.SandboxGrade`, which the course's
  ``nbgrader_config.py`` puts in place of nbgrader's ``Execute``: nbgrader
  never runs a student's code in an ordinary kernel.
* ``python -m autograde grade`` (:func:`grade_class`) runs ``nbgrader
  autograde`` for each submission that is new or changed, checks its exit
  status and the scores it left in the gradebook, and grades in this process
  with the same function when nbgrader could not. A journal
  (``.grading/journal.jsonl``) records what was graded: hashes of the
  submission, of the course (solutions, autograde, gdlib) and of the checks,
  and the scores written to the gradebook; anything that changed since (the
  submission, the course, the gradebook, the feedback) is graded again.

Finally ``nbgrader generate_feedback`` writes the feedback HTML and ``nbgrader
export`` the CSV. A submission that breaks anything gets zero for what it
broke and a line saying why; it never stops the run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from . import course
from .checker import CaseResult, QuestionResult, check, check_sources
from .feedback import install_mathjax
from .sandbox import SandboxCaller, require_sandbox

PRELUDE = "import numpy as np\nimport math\n"
PACKAGE = Path(__file__).resolve().parent
NO_SANDBOX_WARNING = ("WARNING: graded WITHOUT the sandbox (--no-sandbox): the students' code ran with your rights, "
                      "able to read and change every file you can. Use it for trusted submissions only.")


class UsageError(ValueError):
    """A name on the command line that the course does not have (one line, with a suggestion)."""


def _trusted_cells(gb, assignment):
    """From the gradebook (built from the instructor's source): per notebook, the
    answer cells' ids in order and the graded test cells with their points."""
    layout = {}
    for nb in gb.find_assignment(assignment).notebooks:
        answers = [c.name for c in sorted(nb.source_cells, key=lambda c: c.id) if c.cell_type == "code"
                   and c.name in {s.name for s in nb.solution_cells}]
        tests = {c.name: c.max_score for c in nb.grade_cells if c.cell_type == "code"}
        layout[nb.name] = (answers, tests)
    return layout


def _student_source(path, answer_ids):
    """The student's code: [(cell id, source)] of their answer cells, looked up by grade id, in the
    source's order, after a prelude of the usual imports."""
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




def _hash_files(base, paths):
    """A short hash of files, named relative to ``base`` (moving the course changes nothing)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(str(path.relative_to(base)).encode() + b"\0")
        try:
            digest.update(f"-> {os.readlink(path)}".encode() if path.is_symlink() else path.read_bytes())
        except OSError as exc:
            digest.update(f"<{type(exc).__name__}>".encode())
    return digest.hexdigest()[:16]


def check_version():
    """A hash of the checks and their references: a change grades everything again."""
    return _hash_files(PACKAGE, check_sources())


def course_version(root, assignment):
    """A hash of the assignment's source, the grading code and gdlib's sources."""
    source = Path(root) / "solutions" / assignment
    files = [p for p in source.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts]
    code = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "gdlib").rglob("*.py")]
    return _hash_files(source, files) + _hash_files(PACKAGE.parent, code)


def submission_hash(root, student, assignment):
    directory = Path(root) / "submitted" / student / assignment
    files = [p for p in directory.rglob("*") if p.is_file() or p.is_symlink()] if directory.is_dir() else []
    return _hash_files(directory, files) + ("-link" if directory.is_symlink() else "")


def _autograded_hash(root, student, assignment):
    directory = Path(root) / "autograded" / student / assignment
    return _hash_files(directory, directory.glob("*.ipynb")) if directory.is_dir() else "none"


def linked(path):
    """True if the notebook ``submitted/<student>/<assignment>/<notebook>.ipynb`` or a folder above it
    (up to submitted/) is a link: a link would read someone else's work (a classmate's, the solutions)."""
    path = Path(path)
    return any(p.is_symlink() for p in (path, path.parent, path.parent.parent))


def grade_notebook(path, answers, tests, sandbox, call_timeout):
    """Grade one submitted notebook (``path``, which may be missing): {grade_id: QuestionResult}.
    ``answers`` and ``tests`` come from the gradebook (:func:`_trusted_cells`)."""
    path = Path(path)
    if linked(path) or (path.exists() and not path.is_file()):
        source, note = None, f"{path.name} is not a plain file (a link?): it was not read"
    elif path.exists():
        source, note = _student_source(path, answers)
    else:
        source, note = None, f"{path.name} was not submitted"
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


def _gradebook_scores(gb, student, assignment):
    """{notebook: {grade_id: auto_score}} as the gradebook holds them now (None: not graded)."""
    from nbgrader.api import MissingEntry

    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return None
    return {nb.name: {g.name: g.auto_score for g in nb.grades if g.cell_type == "code" and g.max_score}
            for nb in submission.notebooks}


def _suggest(name, known, what):
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known)) or 'none'}"
    return UsageError(f"unknown {what} {name!r} ({hint})")


def plan(root, assignments, students=None, force=False, sandbox=True):
    """What grading would do: [(student, assignment, why)] to grade, the journal, and the versions."""
    root = Path(root).resolve()
    known = sorted(set(course.ASSIGNMENTS) | {p.name for p in (root / "solutions").glob("*") if p.is_dir()})
    for name in assignments:
        if name not in known:
            raise _suggest(name, known, "assignment")
    present = sorted(p.name for p in (root / "submitted").glob("*") if p.is_dir())
    for name in students or ():
        if name not in present:
            raise _suggest(name, present, "student (no folder in submitted/)")
    submissions = sorted((s, a) for a in assignments for s in present
                         if (root / "submitted" / s / a).is_dir() and (not students or s in students))
    journal_path = root / ".grading" / "journal.jsonl"
    done = {}
    if journal_path.exists():
        for line in journal_path.read_text().splitlines():
            try:
                entry = json.loads(line)
                done[(entry["student"], entry["assignment"])] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interruption: that submission is graded again
    versions = {a: course_version(root, a) for a in assignments}
    checks = check_version()
    current = {}
    db = root / ".grading" / "gradebook.db"
    if db.exists() and not force:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{db}") as gb:
            for s, a in submissions:
                current[(s, a)] = _gradebook_scores(gb, s, a)
    todo = []
    for s, a in submissions:
        entry = done.get((s, a))
        if force:
            why = "--force"
        elif entry is None:
            why = "new"
        elif entry.get("submission") != submission_hash(root, s, a):
            why = "the submission changed"
        elif entry.get("course") != versions[a] or entry.get("checks") != checks:
            why = "the course or the checks changed"
        elif entry.get("sandbox") != sandbox:
            why = "graded with another sandbox setting"
        elif current.get((s, a)) != entry.get("gradebook"):
            why = "the gradebook changed"
        elif entry.get("autograded") != _autograded_hash(root, s, a):
            why = "the autograded notebook changed"
        elif not any((root / "feedback" / s / a).glob("*.html")):
            why = "the feedback is missing"
        else:
            continue
        todo.append((s, a, why))
    return todo, submissions, versions, checks


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


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
    stale = [] if db.exists() else list(assignments)
    with Gradebook(f"sqlite:///{db}") if db.exists() else _Nothing() as gb:
        for a in assignments if db.exists() else ():
            try:
                known = bool(gb.find_assignment(a).notebooks)
            except MissingEntry:
                known = False
            if not known or released.get(a) != versions[a]:
                stale.append(a)
    if stale:
        with tempfile.TemporaryDirectory() as scratch:
            course.release(stale, root=root, release_dir=scratch)
        released.update({a: versions[a] for a in stale})
        stamp.write_text(json.dumps(released, indent=1))


def _say(progress, message):
    if progress:
        print(message, file=sys.stderr, flush=True)


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


def grade_class(root=course.ROOT, assignments=course.ASSIGNMENTS, *, students=None, force=False, csv="grades.csv",
                call_timeout=10.0, progress=True, autograde_timeout=600, sandbox=True, dry_run=False):
    """Grade every new or changed submission; export the grades. Returns the summary for the instructor.
    Raises :class:`~autograde.sandbox.SandboxUnavailable` (nothing graded) where bubblewrap cannot
    isolate, unless ``sandbox=False`` (trusted code only: the summary says so loudly)."""
    from nbgrader.api import Gradebook

    root = Path(root).resolve()
    _say(progress, f"autograde: looking at {root / 'submitted'} ...")
    todo, submissions, versions, checks = plan(root, assignments, students, force, sandbox)
    if dry_run:
        lines = [f"would grade {len(todo)} of {len(submissions)} submissions:"]
        lines += [f"  {s}/{a}: {why}" for s, a, why in todo]
        return "\n".join(lines)
    box = None
    if sandbox and todo:
        _say(progress, "autograde: checking the sandbox (bubblewrap) ...")
        box = require_sandbox()
    (root / ".grading").mkdir(exist_ok=True)
    if todo:
        _say(progress, "autograde: preparing the gradebook ...")
        _release_if_needed(root, assignments, versions)
    db_url = f"sqlite:///{root / '.grading' / 'gradebook.db'}"
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="grading", unit="submission", file=sys.stderr)
    problems, failed = [], 0
    plugin = [f"--SandboxGrade.call_timeout={call_timeout}", f"--SandboxGrade.no_sandbox={not sandbox}"]
    for student, assignment, _ in todo:
        if bar is not None:
            bar.set_postfix(student=student, assignment=assignment)
        start = time.perf_counter()
        folder = root / "submitted" / student / assignment
        links = folder.is_symlink() or folder.parent.is_symlink() or any(p.is_symlink() for p in folder.rglob("*"))
        previous = None
        try:
            with Gradebook(db_url) as gb:  # nothing of an earlier grading may pass for this one
                previous = _gradebook_scores(gb, student, assignment)
                for notebook in (previous or {}):
                    for grade in gb.find_submission_notebook(notebook, assignment, student).grades:
                        grade.auto_score = None
                gb.db.commit()
            if links:  # nbgrader would follow them and show what they point to in the feedback
                for kind in ("autograded", "feedback"):
                    shutil.rmtree(root / kind / student / assignment, ignore_errors=True)
                problems.append(f"{student}/{assignment}: links in the submission: not read, graded zero")
                out = None
            else:
                out = course.nbgrader(["autograde", assignment, "--student", student, "--force", "--create",
                                       *plugin], root=root, timeout=autograde_timeout, check=False)
            if out is not None and out.returncode != 0:
                last = (out.stderr.strip().splitlines() or ["no message"])[-1]
                problems.append(f"{student}/{assignment}: nbgrader autograde failed (exit {out.returncode}: "
                                f"{last[:300]}); graded here instead")
        except Exception as exc:  # a hung or broken nbgrader: the pass below still grades
            problems.append(f"{student}/{assignment}: nbgrader autograde: {type(exc).__name__}; graded here instead")
        try:
            with Gradebook(db_url) as gb:
                from nbgrader.api import MissingEntry

                try:
                    gb.find_submission(assignment, student)
                except MissingEntry:  # nbgrader could not even record it: record it here
                    gb.update_or_create_student(student)
                    gb.add_submission(assignment, student)
                held = _gradebook_scores(gb, student, assignment)
                for notebook, (answers, tests) in _trusted_cells(gb, assignment).items():
                    if all(held.get(notebook, {}).get(g) is not None for g in tests):
                        continue  # nbgrader graded it in the sandbox
                    path = root / "submitted" / student / assignment / f"{notebook}.ipynb"
                    results = grade_notebook(path, answers, tests, box, call_timeout)
                    record_scores(gb, student, assignment, notebook, results)
                    autograded = root / "autograded" / student / assignment / f"{notebook}.ipynb"
                    if autograded.exists():
                        _write_feedback(autograded, results)
                    else:  # nbgrader could not read it: the student still learns why
                        _plain_feedback(root / "feedback" / student / assignment / f"{notebook}.html", results)
                held = _gradebook_scores(gb, student, assignment)
        except Exception:
            problems.append(f"{student}/{assignment}: {traceback.format_exc(limit=3)}")
            failed += 1
            _restore(db_url, student, assignment, previous)
            if bar is not None:
                bar.update(1)
            continue
        with open(root / ".grading" / "journal.jsonl", "a") as journal:
            journal.write(json.dumps({
                "student": student, "assignment": assignment, "seconds": round(time.perf_counter() - start, 2),
                "submission": submission_hash(root, student, assignment), "course": versions[assignment],
                "checks": checks, "sandbox": sandbox, "gradebook": held,
                "autograded": _autograded_hash(root, student, assignment)}) + "\n")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for assignment in sorted({a for _, a, _ in todo}):
        _say(progress, f"autograde: writing the feedback of {assignment} ...")
        out = course.nbgrader(["generate_feedback", assignment, "--force"], root=root, check=False)
        if out.returncode != 0:
            problems.append(f"nbgrader generate_feedback {assignment} failed (exit {out.returncode})")
    if todo or not (root / "feedback" / "_static").exists():
        try:  # the feedback pages load MathJax from feedback/_static
            install_mathjax(root / "feedback")
        except OSError as exc:
            problems.append(f"the feedback's math will not render offline: {exc}")
    exported, db = root / csv, root / ".grading" / "gradebook.db"
    if todo or not exported.exists() or not db.exists() or exported.stat().st_mtime < db.stat().st_mtime:
        _say(progress, "autograde: exporting the grades ...")
        course.nbgrader(["export", f"--to={exported}"], root=root)
    graded = len(todo) - failed
    lines = [f"graded {graded} of {len(todo)} submissions ({len(submissions) - len(todo)} already done); "
             f"grades in {root / csv}, feedback in {root / 'feedback'}"]
    lines += [f"problem: {p}" for p in problems]
    if not sandbox:
        lines = [NO_SANDBOX_WARNING, *lines, NO_SANDBOX_WARNING]
    return "\n".join(lines)
