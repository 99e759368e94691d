"""nbgrader configuration of the course: solutions/ is the source, exercises/ the release."""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///.grading/gradebook.db"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
# A student's kernel may hang: nbgrader gives up on a cell after this long.
c.ExecutePreprocessor.timeout = 60
c.ExecutePreprocessor.interrupt_on_timeout = True

# The CSV says "not submitted" rather than 0 for what a student did not hand in (autograde/export.py).
c.ExportApp.plugin_class = "autograde.export.GradesExport"

# Feedback pages read offline: MathJax 3 from feedback/_static (copied there by the grade command), scores with
# two decimals as in the reports (autograde/feedback.py).
from autograde.feedback import configure as configure_feedback  # noqa: E402

configure_feedback(c)
