"""nbgrader's execution step for this course: the student's code runs only in the sandbox.

The course's ``nbgrader_config.py`` puts :class:`SandboxGrade` in place of
nbgrader's ``Execute`` preprocessor, so ``nbgrader autograde`` (the command
line, and the formgrader's "autograde" button, which runs the same converter
with the same configuration) never runs a student's notebook in an ordinary
kernel with the instructor's rights. Instead it computes every test cell's
score exactly as ``python -m autograde grade`` does
(:func:`autograde.grade.grade_notebook`, in bubblewrap), writes the report as
the cell's output and the score as nbgrader's partial credit, and writes the
score of every test cell into the gradebook itself (also of test cells the
student deleted). Both paths give the same grades.

Where bubblewrap cannot isolate, it refuses: the submission fails with the
message saying what to install. ``--SandboxGrade.no_sandbox=True`` grades
without isolation, for trusted submissions only.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float


class SandboxGrade(NbGraderPreprocessor):
    """Grade the notebook's test cells in the sandbox (replaces nbgrader's Execute)."""

    call_timeout = Float(10.0, help="seconds one call of a student's function may take").tag(config=True)
    no_sandbox = Bool(False, help="grade WITHOUT isolation: for trusted submissions only").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        from nbgrader.coursedir import CourseDirectory

        from .grade import _trusted_cells, grade_notebook, linked, record_scores, test_cell_outputs
        from .sandbox import require_sandbox

        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        if self.no_sandbox:
            self.log.warning("grading %s/%s WITHOUT the sandbox (no_sandbox): trusted submissions only",
                             student, assignment)
        sandbox = None if self.no_sandbox else require_sandbox()  # SandboxUnavailable: nbgrader fails, loudly
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{notebook}.ipynb"
        with Gradebook(info["db_url"]) as gb:
            answers, tests = _trusted_cells(gb, assignment)[notebook]
            results = grade_notebook(path, answers, tests, sandbox, self.call_timeout)
            record_scores(gb, student, assignment, notebook, results)
        if linked(path):  # nbgrader copied what the link points to: show none of it in the feedback
            nb.cells = [nbformat.v4.new_markdown_cell("This submission was a link, not a notebook: it was not read.")
                        ] + [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in tests
                             and c.cell_type == "code"]
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in results:
                cell.outputs = test_cell_outputs(results[grade_id])
            elif cell.cell_type == "code":
                cell.outputs = []  # nothing of the student's own outputs passes for a result
        return nb, resources
