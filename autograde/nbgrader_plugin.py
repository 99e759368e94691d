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

``python -m autograde grade`` computes the results first (in parallel, or on a
cluster) and keeps them in ``.grading/results``; it then drives nbgrader's
converters in its own process (:class:`NbgraderSession`): the autograde
converter once per assignment over the graded students, with
``SandboxGrade.results_dir`` set so that each notebook's kept result is used
(when its key, :func:`autograde.journal.result_key`, says it is of this very
submission, course, checks and settings) instead of running the code again,
then the feedback converter. One nbgrader start-up per run, not one per
student.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Unicode


class SandboxGrade(NbGraderPreprocessor):
    """Grade the notebook's test cells in the sandbox (replaces nbgrader's Execute)."""

    call_timeout = Float(10.0, help="seconds one call of a student's function may take").tag(config=True)
    no_sandbox = Bool(False, help="grade WITHOUT isolation: for trusted submissions only").tag(config=True)
    results_dir = Unicode("", help="where `python -m autograde grade` keeps the results it computed "
                                   "(used when they are of this very submission and settings)").tag(config=True)

    def _kept(self, root, student, assignment, notebook):
        """The kept results of this notebook ({grade_id: Graded}), or None."""
        from .engine import as_graded
        from .journal import load_results, result_key

        if not self.results_dir:
            return None
        course, checks = _versions(str(root), assignment)
        key = result_key(root, student, assignment, course=course, checks=checks, sandbox=not self.no_sandbox,
                         call_timeout=self.call_timeout)
        kept = load_results(self.results_dir, student, assignment, key)
        return as_graded(kept).get(notebook) if kept else None

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        from nbgrader.coursedir import CourseDirectory

        from .engine import grade_notebook, linked
        from .grade import record_scores, test_cell_outputs, trusted_cells
        from .sandbox import require_sandbox

        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        if self.no_sandbox:
            self.log.warning("grading %s/%s WITHOUT the sandbox (no_sandbox): trusted submissions only",
                             student, assignment)
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment)) / f"{notebook}.ipynb"
        with Gradebook(info["db_url"]) as gb:
            answers, tests = trusted_cells(gb, assignment)[notebook]
            results = self._kept(coursedir.root, student, assignment, notebook)
            if results is None or set(results) != set(tests):
                sandbox = None if self.no_sandbox else require_sandbox()  # SandboxUnavailable: fails, loudly
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


@functools.lru_cache(maxsize=None)
def _versions(root, assignment):
    from .journal import check_version, course_version

    return course_version(root, assignment), check_version()


class NbgraderSession:
    """nbgrader's converters driven in this process, with the course's configuration: one nbgrader
    start-up per grading run, each converter over many students at once.

    ``with NbgraderSession(root, ...) as nbg:`` (the course directory is the working directory inside,
    as for nbgrader's command line); :meth:`release`, :meth:`autograde` and :meth:`feedback` return
    nbgrader's outcome ({"success": ..., "log": ..., "error": ...}).
    """

    def __init__(self, root, *, call_timeout=10.0, no_sandbox=False, results_dir=""):
        self.root = Path(root).resolve()
        self.settings = dict(call_timeout=float(call_timeout), no_sandbox=bool(no_sandbox),
                             results_dir=str(results_dir))

    def __enter__(self):
        import logging
        import os

        from nbgrader.apps import NbGrader
        from nbgrader.coursedir import CourseDirectory

        self._cwd, self._path = os.getcwd(), os.environ.get("PATH")
        os.chdir(self.root)  # where nbgrader looks for nbgrader_config.py, and resolves the gradebook's URL
        # nbgrader runs helpers (alembic) by name: this environment's scripts first on PATH
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), self._path or ""])
        self.app = NbGrader()
        self.app.log_level = logging.WARNING
        for handler in list(self.app.log.handlers):  # nbgrader's log goes to the outcomes, not to the terminal
            self.app.log.removeHandler(handler)
        self.app.log.propagate = False
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes from inside nbgrader
        self.app.load_config_file()
        for name, value in self.settings.items():
            setattr(self.app.config.SandboxGrade, name, value)
        self.app.config.CourseDirectory.root = str(self.root)
        self.coursedir = CourseDirectory(config=self.app.config, root=str(self.root))
        return self

    def __exit__(self, *exc):
        import os

        self._warnings.__exit__(*exc)
        os.chdir(self._cwd)
        if self._path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = self._path
        return False

    def _run(self, converter, assignment, students=None, **attributes):
        from nbgrader.utils import capture_log

        self.coursedir.assignment_id = assignment
        self.coursedir.student_id = "*"
        present = sorted(p.parent.name for p in (self.root / self.coursedir.submitted_directory).glob(
            f"*/{assignment}"))
        wanted = set(present if students is None else students)
        self.coursedir.student_id_exclude = ",".join(s for s in present if s not in wanted)
        app = converter(coursedir=self.coursedir, parent=self.app)
        for name, value in attributes.items():
            setattr(app, name, value)
        outcome = capture_log(app)
        return {k: (bool(v) if k == "success" else str(v)[-3000:]) for k, v in outcome.items()}

    def release(self, assignment, release_dir):
        """nbgrader generate_assignment: the gradebook learns the assignment's cells."""
        from nbgrader.converters import GenerateAssignment

        before = self.coursedir.release_directory
        self.coursedir.release_directory = str(release_dir)
        try:
            return self._run(GenerateAssignment, assignment, force=True, create_assignment=True)
        finally:
            self.coursedir.release_directory = before

    def autograde(self, assignment, students):
        """nbgrader autograde over ``students`` (their kept results, or graded in the sandbox)."""
        from nbgrader.converters import Autograde

        return self._run(Autograde, assignment, students, force=True, create_student=True)

    def feedback(self, assignment, students):
        """nbgrader generate_feedback over ``students`` (the course's offline template)."""
        from nbgrader.converters import GenerateFeedback

        return self._run(GenerateFeedback, assignment, students, force=True)
