"""Grade a whole class: nbgrader's workflow, with the scores computed in a sandbox.

For every submission ``submitted/<student>/<assignment>/<notebook>.ipynb``:

1. ``nbgrader autograde`` records the submission in the gradebook, restores
   the hidden tests and writes the autograded notebook that nbgrader turns into
   feedback, with its execution step switched off: nbgrader would run the
   student's code in an ordinary kernel, with the grader's rights and the
   checks within reach, so the student's code runs only in the sandbox.
2. The trusted pass: the student's answer cells (identified by the grade ids
   the gradebook holds for this assignment, never by the submission's own
   metadata) are run in a :class:`~autograde.sandbox.SandboxCaller`; every test
   cell's score is recomputed by :mod:`autograde.checker` in this process and
   written into the gradebook, and the diagnosis replaces that cell's output
   in the autograded notebook.
3. The student is marked done in a journal (``.grading/journal.jsonl``) after
   the gradebook commit. An interrupted run resumes where it stopped; running
   again gives the same grades (the checks use fixed seeds).

Finally ``nbgrader generate_feedback`` writes the feedback HTML and
``nbgrader export`` the CSV. A submission that breaks anything gets zero for
what it broke and a line saying why; it never stops the run.
"""

from __future__ import annotations

import json
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from . import course
from .checker import CaseResult, QuestionResult, check
from .feedback import install_mathjax
from .sandbox import SandboxCaller, can_protect_files, make_site

PRELUDE = "import numpy as np\nimport math\n"


def _journal(root):
    path = Path(root) / ".grading" / "journal.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interruption: that submission is graded again
            done[(entry["student"], entry["assignment"])] = entry
    return path, done


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
    by_id = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id in answer_ids and grade_id not in by_id:
            by_id[grade_id] = cell.get("source", "")
    missing = [a for a in answer_ids if a not in by_id]
    cells = [("the imports", PRELUDE)]
    for grade_id in answer_ids:
        source = by_id.get(grade_id, "")
        # IPython magics and shell escapes are not Python: drop them
        cells.append((f"cell {grade_id}",
                      "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))))
    note = f"answer cells missing from the notebook: {', '.join(missing)}" if missing else ""
    return cells, note


def _write_feedback(autograded, results):
    """Replace each test cell's output in the autograded notebook with the trusted report."""
    if not autograded.exists():
        return
    nb = nbformat.read(autograded, as_version=4)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id in results:
            report = results[grade_id].report()
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text="Graded in a sandbox against gdlib:\n" + report + "\n")]
    nbformat.write(nb, autograded)


def grade_submission(root, gb, student, assignment, layout, site, call_timeout, protected):
    """Grade one student's assignment; returns {grade_id: (score, max_score, report)}."""
    scores = {}
    for notebook, (answers, tests) in layout.items():
        path = Path(root) / "submitted" / student / assignment / f"{notebook}.ipynb"
        source, note = _student_source(path, answers) if path.exists() else (None, f"{notebook}.ipynb was not submitted")
        results = {}
        caller = SandboxCaller(source or [("the imports", PRELUDE)], site=site, call_timeout=call_timeout)
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
                            "grader", False, f"internal error {type(exc).__name__}: {exc}")])
                    result.points = points
                if note:
                    result.diagnosis.append(note)
                if not protected:
                    result.diagnosis.append("(graded without file-system protection: run the grader as root on "
                                            "Linux to sandbox file access)")
                results[grade_id] = result
        finally:
            caller.close()
        for grade_id, result in results.items():
            for extra in caller.notes:
                result.diagnosis.append(extra)
            grade = gb.find_grade(grade_id, notebook, assignment, student)
            grade.auto_score = round(float(result.score), 6)
            scores[grade_id] = (grade.auto_score, float(result.points), result.report())
        gb.db.commit()
        _write_feedback(Path(root) / "autograded" / student / assignment / f"{notebook}.ipynb", results)
    return scores


def grade_class(root=course.ROOT, assignments=course.ASSIGNMENTS, *, force=False, csv="grades.csv",
                call_timeout=10.0, progress=True, autograde_timeout=300):
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root).resolve()
    (root / ".grading").mkdir(exist_ok=True)
    # the gradebook learns each assignment's cells from the instructor's source (not from exercises/)
    with tempfile.TemporaryDirectory() as scratch:
        course.release(assignments, root=root, release_dir=scratch)
    journal_path, done = _journal(root)
    submissions = sorted((s.name, a) for a in assignments for s in (root / "submitted").glob("*")
                         if (s / a).is_dir())
    todo = [(s, a) for s, a in submissions if force or (s, a) not in done]
    protected = can_protect_files()
    site = make_site(root / ".grading" / "sandbox-site")
    db_url = f"sqlite:///{root / '.grading' / 'gradebook.db'}"
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="grading", unit="submission")
    failures = []
    for student, assignment in todo:
        if bar is not None:
            bar.set_postfix(student=student, assignment=assignment)
        start = time.perf_counter()
        try:
            course.nbgrader(["autograde", assignment, "--student", student, "--force", "--create",
                             "--Execute.enabled=False"], root=root, timeout=autograde_timeout, check=False)
        except Exception as exc:  # a hung or broken autograde: the trusted pass below still grades
            failures.append(f"{student}/{assignment}: nbgrader autograde: {type(exc).__name__}")
        try:
            with Gradebook(db_url) as gb:
                try:
                    gb.find_submission(assignment, student)
                except MissingEntry:  # nbgrader could not even record it: record it here
                    gb.update_or_create_student(student)
                    gb.add_submission(assignment, student)
                layout = _trusted_cells(gb, assignment)
                scores = grade_submission(root, gb, student, assignment, layout, site, call_timeout, protected)
        except Exception:
            failures.append(f"{student}/{assignment}: {traceback.format_exc(limit=3)}")
            if bar is not None:
                bar.update(1)
            continue
        with open(journal_path, "a") as journal:
            journal.write(json.dumps({"student": student, "assignment": assignment, "seconds":
                                      round(time.perf_counter() - start, 2),
                                      "scores": {k: v[0] for k, v in scores.items()}}) + "\n")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for assignment in assignments:
        course.nbgrader(["generate_feedback", assignment, "--force"], root=root, check=False)
    notes = []
    try:  # the feedback pages load MathJax from feedback/_static
        install_mathjax(root / "feedback")
    except OSError as exc:
        notes.append(f"problem: the feedback's math will not render offline: {exc}")
    course.nbgrader(["export", f"--to={root / csv}"], root=root)
    graded = len(todo) - len(failures)
    lines = [f"graded {graded} of {len(todo)} submissions ({len(submissions) - len(todo)} already done); "
             f"grades in {root / csv}, feedback in {root / 'feedback'}"]
    lines += [f"problem: {f}" for f in failures]
    lines += notes
    return "\n".join(lines)
