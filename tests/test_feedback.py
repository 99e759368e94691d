"""A small class graded through the real grading path: feedback that reads offline, grades that say
"not submitted", the same scores in the feedback's header and body.

Two students, two assignments: ada hands in momentum_nesterov (Nesterov's gradient taken at θ, a named
mistake), bo hands in adaptive_rates untouched. Nobody hands in the other one.
"""

import csv
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograde import feedback
from autograde.export import NOT_SUBMITTED, export_grades, write_grades
from autograde.grade import grade_class
from browser import CHROMIUM, render, serve

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ["momentum_nesterov", "adaptive_rates"]

pytestmark = pytest.mark.skipif(not (feedback.MATHJAX_SOURCE / "tex-chtml-full.js").exists(),
                                reason="MathJax is not vendored: run `make book` (make test does)")


def _submit(root, student, assignment, source_nb, edit=None):
    nb = nbformat.read(source_nb, as_version=4)
    for cell in nb.cells:
        if edit and cell.metadata.get("nbgrader", {}).get("grade_id") == edit[0]:
            assert edit[1] in cell.source
            cell.source = cell.source.replace(edit[1], edit[2])
    target = root / "submitted" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    _submit(root, "ada", "momentum_nesterov", ROOT / "solutions" / "momentum_nesterov" / "momentum_nesterov.ipynb",
            ("nesterov_answer", "grad_fn(theta - gamma * state[\"v\"])", "grad_fn(theta)"))
    _submit(root, "bo", "adaptive_rates", ROOT / "exercises" / "adaptive_rates" / "adaptive_rates.ipynb")
    summary = grade_class(root, ASSIGNMENTS, call_timeout=5, progress=False)
    with open(root / "grades.csv") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    return root, summary, rows


def test_grades_say_not_submitted_rather_than_zero(graded):
    root, summary, rows = graded
    assert "problem" not in summary, summary
    assert rows["ada", "momentum_nesterov"]["status"] == "graded"
    assert rows["ada", "momentum_nesterov"]["score"] == "11.00"  # Nesterov wrong: 16 points less its 5
    assert rows["bo", "adaptive_rates"]["status"] == "graded"
    assert rows["bo", "adaptive_rates"]["score"] == "0.00"  # handed in untouched: a real zero
    for key in (("ada", "adaptive_rates"), ("bo", "momentum_nesterov")):
        assert rows[key]["status"] == NOT_SUBMITTED and rows[key]["score"] == "", rows[key]


def test_the_grade_command_s_export_function_writes_the_same_csv(graded):
    root, _, rows = graded
    with open(export_grades(root, "again.csv")) as f:
        assert {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)} == rows


def test_export_writes_not_submitted_from_any_gradebook(tmp_path, monkeypatch):
    import sys

    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")  # alembic
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        for name in ("a1", "a2"):
            gb.add_assignment(name)
        gb.add_student("s1")
        gb.add_submission("a1", "s1")
        write_grades(gb, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv") as f:
        rows = {r["assignment"]: r for r in csv.DictReader(f)}
    assert (rows["a1"]["status"], rows["a1"]["score"]) == ("graded", "0.00")
    assert (rows["a2"]["status"], rows["a2"]["score"]) == (NOT_SUBMITTED, "")


def _page(root, student, assignment):
    return root / "feedback" / student / assignment / f"{assignment}.html"


def test_feedback_loads_mathjax_3_from_the_course_not_a_cdn(graded):
    root, *_ = graded
    for student, assignment in (("ada", "momentum_nesterov"), ("bo", "adaptive_rates")):
        page = _page(root, student, assignment)
        html = page.read_text()
        assert "cdnjs" not in html and "MathJax.Hub" not in html
        sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert sources and all(not re.match(r"\w+://|//", s) for s in sources), sources
        assert all((page.parent / s).resolve().exists() for s in sources), sources


def test_feedback_header_and_body_show_the_same_scores(graded):
    root, *_ = graded
    html = _page(root, "ada", "momentum_nesterov").read_text()
    header = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)</h4>", html).groups()
    assert header == ("11.00", "16.00")
    body = re.findall(r"(\w+_step): ([\d.]+) / ([\d.]+) points", html)
    assert dict((q, (s, p)) for q, s, p in body) == {"momentum_step": ("5.00", "5.00"),
                                                     "nesterov_step": ("0.00", "5.00")}
    cells = re.findall(r"Score: ([\d.]+) / ([\d.]+) <a", html)
    assert ("0.00", "5.00") in cells and ("5.00", "5.00") in cells
    assert all(re.fullmatch(r"\d+\.\d\d", n) for pair in cells for n in pair), cells
    assert "classical momentum" in html  # the named mistake


def test_feedback_of_an_untouched_answer_says_so_plainly(graded):
    root, *_ = graded
    html = _page(root, "bo", "adaptive_rates").read_text()
    assert "you have not implemented `adagrad_init` yet: replace `raise NotImplementedError()` with your code" in html
    assert "NotImplementedError: " not in html


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_feedback_renders_offline_with_typeset_math(graded, tmp_path):
    root, *_ = graded
    nb = nbformat.read(root / "submitted" / "ada" / "momentum_nesterov" / "momentum_nesterov.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    n_math = len(re.findall(r"\$\$.+?\$\$|\$[^$]+?\$", markdown, re.S))
    assert n_math >= 5
    with serve(root / "feedback") as url:
        dom = render(f"{url}/ada/momentum_nesterov/momentum_nesterov.html", tmp_path / "shot.png", tmp_path / "chromium")
    assert dom.count("<mjx-container") >= n_math, "math left untypeset"
    assert "Math input error" not in dom and "Math Processing Error" not in dom
