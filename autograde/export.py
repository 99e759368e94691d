"""The grades as a CSV where "not submitted" is not a zero.

nbgrader's own CSV export writes 0.0 for every assignment a student did not
hand in, indistinguishable from a submission that earned nothing. This export
writes nbgrader's columns plus ``status``: ``graded`` (with the score) or
``not submitted`` (with the score, raw score and penalty left empty). Scores
have two decimals, as in the reports and the feedback.

Two ways in, one writer:

* ``nbgrader export`` uses it through the course's ``nbgrader_config.py``
  (``c.ExportApp.plugin_class = "autograde.export.GradesExport"``);
* :func:`export_grades` writes it from a course directory's gradebook, for a
  grade command that does not go through ``nbgrader export``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.plugins.export import ExportPlugin

from .checker import format_score

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score", "status"]
GRADED, NOT_SUBMITTED = "graded", "not submitted"


def grade_rows(gradebook, assignments=(), students=()):
    """One dict per (assignment, student) of the gradebook, in COLUMNS; ``status`` says whether it was submitted."""
    from nbgrader.api import MissingEntry

    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            row = dict(assignment=assignment.name, duedate=assignment.duedate or "", student_id=student.id,
                       last_name=student.last_name or "", first_name=student.first_name or "",
                       email=student.email or "", max_score=format_score(assignment.max_score))
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score="", late_submission_penalty="", score="", status=NOT_SUBMITTED)
            else:
                penalty = submission.late_submission_penalty or 0.0
                row.update(timestamp=submission.timestamp or "", raw_score=format_score(submission.score),
                           late_submission_penalty=format_score(penalty),
                           score=format_score(max(0.0, submission.score - penalty)), status=GRADED)
            yield row


def write_grades(gradebook, dest, assignments=(), students=()):
    with open(dest, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(grade_rows(gradebook, [str(a) for a in assignments], [str(s) for s in students]))


def export_grades(root, csv_path="grades.csv", assignments=()):
    """Write the grades of the course at ``root`` (its gradebook in .grading/) to ``csv_path`` (relative to root)."""
    from nbgrader.api import Gradebook

    root = Path(root)
    with Gradebook(f"sqlite:///{root / '.grading' / 'gradebook.db'}") as gb:
        write_grades(gb, root / csv_path, assignments)
    return root / csv_path


class GradesExport(ExportPlugin):
    """``nbgrader export`` with a status column: "not submitted" is not 0."""

    def export(self, gradebook):
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        write_grades(gradebook, dest, self.assignment, self.student)
