"""nbgrader configuration of the course: solutions/ is the source, exercises/ the release."""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///.grading/gradebook.db"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# The exchange (nbgrader list, release_assignment, collect) lives in the course directory, not in
# /srv/nbgrader/exchange (which an ordinary user can seldom write).
import os  # noqa: E402

c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".grading", "exchange")
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass  # read-only course copy: nbgrader says so when the exchange is used

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# nbgrader never runs a student's code in an ordinary kernel with the instructor's rights: its
# execution step (the command line's `nbgrader autograde` and the formgrader's "autograde" button
# alike) is the course's sandbox (autograde/nbgrader_plugin.py, bubblewrap), which computes the
# same scores as `python -m autograde grade`. If the plugin cannot be loaded, autograding refuses.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,  # noqa: E402
                                    LimitOutput, NbGraderPreprocessor, SaveAutoGrades)

try:
    from autograde.nbgrader_plugin import SandboxGrade
except Exception as _exc:  # noqa: BLE001
    _why = f"{type(_exc).__name__}: {_exc}"

    class SandboxGrade(NbGraderPreprocessor):  # refuse rather than run the student's code unsandboxed
        def preprocess(self, nb, resources):
            raise RuntimeError(f"this course grades only in its sandbox, which could not be loaded ({_why}); "
                               "run nbgrader from the course's environment (.venv/bin/nbgrader)")

c.Autograde.autograde_preprocessors = [SandboxGrade, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

# The CSV says "not submitted" rather than 0 for what a student did not hand in (autograde/export.py).
c.ExportApp.plugin_class = "autograde.export.GradesExport"

# Feedback pages read offline: MathJax 3 from feedback/_static (copied there by the grade command), scores with
# two decimals as in the reports (autograde/feedback.py).
from autograde.feedback import configure as configure_feedback  # noqa: E402

configure_feedback(c)
