"""Exercises end to end: release up to date, solutions full marks, untouched releases zero,
and a whole class graded with nbgrader, hostile submissions included."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograde import course
from autograde.__main__ import main
from autograde.grade import grade_class, plan
from autograde.sandbox import SandboxUnavailable, require_sandbox

ROOT = Path(__file__).resolve().parents[1]


def _normalized(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, json.dumps(c.metadata.get("nbgrader", {}), sort_keys=True)) for c in nb.cells]


@pytest.mark.slow  # class grading / nbgrader release: minutes (the marker's documented use)
def test_released_exercises_are_up_to_date_with_the_solutions(tmp_path):
    course.release(release_dir=tmp_path, root=ROOT)
    for assignment in course.ASSIGNMENTS:
        fresh = tmp_path / assignment / f"{assignment}.ipynb"
        committed = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
        assert committed.exists(), f"run `python -m autograde release`: {committed} is missing"
        assert _normalized(fresh) == _normalized(committed), (
            f"exercises/{assignment} is out of date with solutions/: run `python -m autograde release`")


def _execute(path, cwd):
    """Run a notebook top to bottom in a fresh kernel; returns the executed notebook."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": cwd}}
                   ).execute()
    return nb


def _test_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS)
def test_solution_notebooks_pass_every_check(assignment, tmp_path):
    nb = _execute(ROOT / "solutions" / assignment / f"{assignment}.ipynb", str(tmp_path))
    for cell in _test_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors)
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "[x ]" not in text and "points" in text


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS)
def test_untouched_exercises_fail_with_a_helpful_message(assignment, tmp_path):
    nb = _execute(ROOT / "exercises" / assignment / f"{assignment}.ipynb", str(tmp_path))
    for cell in _test_cells(nb):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[0].ename == "AssertionError", cell.source  # a failed check, not a crash
        assert "visible checks: 0 of 2 passed; your grade also uses hidden cases" in text, text
        assert "you have not implemented" in text and "replace `raise NotImplementedError()`" in text, text


# ------------------------------------------------------------------- a class
def _submit(root, student, source_nb, edit=None):
    nb = nbformat.read(source_nb, as_version=4)
    if edit:
        edit(nb)
    target = root / "submitted" / student / "adam_family" / "adam_family.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def _answer(nb, grade_id, source):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
            return
    raise KeyError(grade_id)


def _replace_in_answer(nb, grade_id, old, new):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            assert old in cell.source
            cell.source = cell.source.replace(old, new)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    solution = ROOT / "solutions" / "adam_family" / "adam_family.ipynb"
    released = ROOT / "exercises" / "adam_family" / "adam_family.ipynb"
    victim = root / "victim.txt"
    victim.write_text("the instructor's file")

    _submit(root, "alice", solution)  # correct
    _submit(root, "bob", released)  # handed in untouched
    _submit(root, "carol", solution, lambda nb: _replace_in_answer(  # Adam's bias correction forgotten
        nb, "adam_answer", "m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)", "m_hat = m\n    v_hat = v"))
    _submit(root, "dave", solution, lambda nb: _answer(  # loops forever
        nb, "adamax_answer", "def adamax_init(theta):\n    while True:\n        pass\n"))
    _submit(root, "erin", solution, lambda nb: _answer(  # ends the process
        nb, "nadam_answer", "import os\ndef nadam_init(theta):\n    os._exit(0)\n"))
    _submit(root, "frank", solution, lambda nb: _answer(  # prints megabytes
        nb, "amsgrad_answer", "def amsgrad_init(theta):\n    while True:\n        print('spam' * 1000)\n"))
    _submit(root, "grace", solution, lambda nb: _answer(  # deletes files
        nb, "adam_answer", f"import os, shutil\nshutil.rmtree('.', ignore_errors=True)\n"
                           f"os.remove({str(victim)!r})\n"))
    _submit(root, "heidi", released, lambda nb: _answer(  # fakes passes in its own kernel
        nb, "adam_answer", "import autograde.checker as c, autograde.notebook as n\n"
                           "n.check = lambda *a, **k: 5\nc.check = lambda *a, **k: None\n"
                           "import sys\nsys.modules['gdlib'] = None\n"))
    _submit(root, "ivan", solution, lambda nb: _answer(  # raises on import
        nb, "adam_answer", "raise RuntimeError('oops')\n"))
    broken = root / "submitted" / "judy" / "adam_family" / "adam_family.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ this is not a notebook")

    summary = grade_class(root, ["adam_family"], call_timeout=3, progress=False, jobs=1)  # serial: the reference
    with open(root / "grades.csv") as f:
        grades = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    return root, summary, grades, victim


@pytest.mark.slow  # class grading / nbgrader release: minutes (the marker's documented use)
def test_class_grades_are_exact(graded_class):
    root, summary, grades, victim = graded_class
    assert grades == pytest.approx({
        "alice": 20.0,  # all four questions
        "bob": 0.0,
        "carol": 15.0,  # Adam without bias correction: no points for it
        "dave": 15.0,  # AdaMax hangs: zero for it, full marks elsewhere
        "erin": 15.0,  # Nadam ends the process
        "frank": 15.0,  # AMSGrad prints without end
        "grace": 15.0,  # Adam's cell deleted files instead of defining adam_step
        "heidi": 0.0,  # faking in the kernel changes nothing in the sandbox
        "ivan": 15.0,  # a cell that raises costs only its question
        "judy": 0.0,  # unreadable notebook
    }, abs=1e-5), summary
    assert victim.exists(), "a submission deleted a file outside its sandbox"


@pytest.mark.slow  # class grading / nbgrader release: minutes (the marker's documented use)
def test_feedback_names_the_mistakes(graded_class):
    root, *_ = graded_class
    feedback = {p.parts[-3]: p.read_text() for p in (root / "feedback").glob("*/adam_family/*.html")}
    assert "bias correction" in feedback["carol"]
    assert "took longer than" in feedback["dave"]
    assert "ended the Python process" in feedback["erin"]
    assert "printed more than" in feedback["frank"]
    assert feedback["frank"].count("the rest of its output was dropped") == 1  # said once, not under every question
    assert "No such file or directory" in feedback["grace"]  # the instructor's file is not in the sandbox
    assert not any("file-system protection" in text for text in feedback.values())


@pytest.mark.slow  # class grading / nbgrader release: minutes (the marker's documented use)
def test_grading_resumes_and_is_repeatable(graded_class):
    root, _, grades, _ = graded_class
    again = grade_class(root, ["adam_family"], call_timeout=3, progress=False)
    assert "graded 0 of 0 submissions (10 already done)" in again
    journal = (root / ".grading" / "journal.jsonl").read_text().splitlines()
    (root / ".grading" / "journal.jsonl").write_text("\n".join(journal[:4]) + "\n{\"student\": \"cut")  # interrupted
    resumed = grade_class(root, ["adam_family"], call_timeout=3, progress=False)
    assert "graded 6 of 6 submissions (4 already done)" in resumed
    with open(root / "grades.csv") as f:
        assert {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)} == grades


def _csv(root):
    with open(root / "grades.csv") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


def test_plain_nbgrader_autograde_grades_in_the_sandbox_and_agrees(graded_class):
    """The formgrader's button and `nbgrader autograde` run the course's sandbox, not a kernel:
    heidi's fake `check` gets nothing, and mixing the two paths changes no grade."""
    root, _, grades, _ = graded_class
    for student in ("heidi", "carol"):
        out = course.nbgrader(["autograde", "adam_family", "--student", student, "--force"], root=root, check=False)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    out = course.nbgrader(["export", f"--to={root / 'plain.csv'}"], root=root)
    with open(root / "plain.csv") as f:
        plain = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert plain == pytest.approx(grades, abs=1e-5)
    grade_class(root, ["adam_family"], call_timeout=3, progress=False)
    assert _csv(root) == grades


def test_the_formgraders_button_grades_in_the_sandbox(graded_class, monkeypatch):
    """What the formgrader's "autograde" button runs: NbGraderAPI.autograde, in the server's process,
    with the course's nbgrader_config.py."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGrader, NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root, _, grades, _ = graded_class
    monkeypatch.chdir(root)
    app = NbGrader()
    app.load_config_file()
    api = NbGraderAPI(CourseDirectory(config=app.config, root=str(root)), parent=app)
    result = api.autograde("adam_family", "heidi")
    assert result["success"], result.get("log")
    with Gradebook(f"sqlite:///{root / '.grading' / 'gradebook.db'}") as gb:
        assert gb.find_submission("adam_family", "heidi").score == 0.0


def test_no_sandbox_is_loud_and_graded_again_in_the_sandbox(graded_class):
    root, _, grades, _ = graded_class
    grade_class(root, ["adam_family"], call_timeout=3, progress=False)  # settle what earlier tests changed
    summary = grade_class(root, ["adam_family"], students=["alice"], sandbox=False, call_timeout=3, progress=False)
    assert summary.startswith("WARNING: graded WITHOUT the sandbox") and summary.count("WARNING") == 2
    assert "graded 1 of 1 submissions" in summary
    feedback = next((root / "feedback" / "alice" / "adam_family").glob("*.html")).read_text()
    assert "graded WITHOUT" not in feedback and "file-system protection" not in feedback  # the instructor's business
    again = grade_class(root, ["adam_family"], call_timeout=3, progress=False)
    assert "graded 1 of 1 submissions" in again and "WARNING" not in again
    assert _csv(root) == grades


def test_a_changed_submission_is_graded_again_without_force(graded_class):
    root, _, grades, _ = graded_class
    assert "would grade 0 of 10" in grade_class(root, ["adam_family"], dry_run=True, progress=False)
    _submit(root, "bob", ROOT / "solutions" / "adam_family" / "adam_family.ipynb")  # bob hands in again
    assert "bob/adam_family: the submission changed" in grade_class(root, ["adam_family"], dry_run=True,
                                                                     progress=False)
    summary = grade_class(root, ["adam_family"], call_timeout=3, progress=False)
    assert "graded 1 of 1 submissions (9 already done)" in summary
    assert _csv(root) == {**grades, "bob": 20.0}


def test_a_failure_of_the_grader_loses_no_grade(graded_class, monkeypatch):
    """A bug of ours before grading, or after nbgrader recorded the scores: alice keeps the grade she had,
    and the journal grades her again next time."""
    import autograde.grade as grading

    root, *_ = graded_class
    before = _csv(root)

    def bug(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    for module, name in ((grading, "trusted_cells"), (grading.engine, "as_graded")):
        with monkeypatch.context() as patch:
            patch.setattr(module, name, bug)
            summary = grade_class(root, ["adam_family"], students=["alice"], force=True, call_timeout=3,
                                  progress=False)
        assert "graded 0 of 1" in summary and "a bug of ours" in summary, summary
        assert _csv(root) == before
    assert [s for s, _, _ in plan(root, ["adam_family"])[0]] == ["alice"]  # nbgrader wrote, we did not: again


def test_a_hung_nbgrader_loses_no_grade(graded_class, monkeypatch):
    """nbgrader hangs: the grades computed in the sandbox are recorded here, with a plain feedback page."""
    import autograde.grade as grading

    root, *_ = graded_class
    before = _csv(root)

    def hung(*args, **kwargs):
        raise subprocess.TimeoutExpired("nbgrader", 1)

    monkeypatch.setattr(grading, "_nbgrader_pass", hung)
    summary = grade_class(root, ["adam_family"], students=["alice"], force=True, call_timeout=3, progress=False)
    assert "graded 1 of 1" in summary and "TimeoutExpired" in summary and "recorded here instead" in summary
    assert _csv(root) == before
    assert "adam_step: 5.00 / 5.00 points" in (
        root / "feedback" / "alice" / "adam_family" / "adam_family.html").read_text()


def test_a_moved_course_is_not_graded_again(graded_class, tmp_path):
    root, *_ = graded_class
    shutil.copytree(root, tmp_path / "moved", symlinks=True)
    assert plan(tmp_path / "moved", ["adam_family"])[0] == []


def test_unknown_names_give_one_line_with_a_suggestion(graded_class, capsys):
    root, *_ = graded_class
    assert main(["grade", "adam_famly", "--root", str(root), "--no-progress"]) == 2
    assert main(["grade", "adam_family", "--student", "alise", "--root", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "did you mean adam_family?" in err and "did you mean alice?" in err and "Traceback" not in err


def test_grading_refuses_without_bubblewrap(tmp_path):
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        require_sandbox(bwrap=str(tmp_path / "no-bwrap"))


def test_command_line_help():
    out = subprocess.run([sys.executable, "-m", "autograde", "grade", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "submitted/" in out.stdout


# --------------------------------------------- parallel and on a Dask cluster
SIX = ["alice", "carol", "erin", "frank", "heidi", "judy"]  # honest, a mistake, os._exit, spam, a fake, unreadable


def _csv_bytes(root):
    return (root / "grades.csv").read_bytes()


def _settled(root):
    """The class graded as it stands (serially), and its CSV: the reference for the other ways."""
    grade_class(root, ["adam_family"], call_timeout=3, progress=False, jobs=1)
    return _csv_bytes(root)


def _grader_processes(marker):
    """Processes whose command line names ``marker`` (the grader, and the workers it forked)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.slow  # class grading (the marker's documented use); six students, one shared cluster
def test_jobs_and_dask_give_the_same_grades(graded_class, dask_client):
    """Six of the class (os._exit, megabytes of output, a fake check, an unreadable notebook among them)
    graded again with --jobs 2 and on a local Dask cluster: byte-identical grades."""
    root, *_ = graded_class
    serial = _settled(root)
    summary = grade_class(root, ["adam_family"], students=SIX, force=True, jobs=2, call_timeout=3, progress=False)
    assert "graded 6 of 6 submissions" in summary, summary
    assert _csv_bytes(root) == serial
    summary = grade_class(root, ["adam_family"], students=SIX, force=True, client=dask_client, call_timeout=3,
                          progress=False)
    assert "graded 6 of 6 submissions" in summary, summary
    assert _csv_bytes(root) == serial
    assert "graded 0 of 0" in grade_class(root, ["adam_family"], call_timeout=3, progress=False)


def _kill_when(target, timeout=300):
    """A thread that SIGKILLs the process ``target()`` names as soon as it names one (None: not yet)."""
    import signal
    import threading
    import time

    record = {}

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = target()
            if pid is not None:
                record["killed"] = pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # it had already ended: the test says so
                    record["killed"] = None
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, record


def _results_since(root, t0):
    return [p for p in (root / ".grading" / "results").glob("*/*.json") if p.stat().st_mtime > t0]


@pytest.mark.slow  # class grading (the marker's documented use)
def test_a_killed_parallel_run_resumes(graded_class):
    """The grader (--jobs 2) is killed mid-run: its workers end with it, the rerun uses what was computed
    and gives the same grades."""
    import time

    root, *_ = graded_class
    serial = _settled(root)
    journal = root / ".grading" / "journal.jsonl"  # the six are new again, and computed again
    journal.write_text("".join(line for line in journal.read_text().splitlines(True)
                               if not any(f'"student": "{s}"' in line for s in SIX)))
    for student in SIX:
        (root / ".grading" / "results" / "adam_family" / f"{student}.json").unlink()
    start = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "autograde", "grade", "adam_family", "--root", str(root),
                             *(f"--student={s}" for s in SIX), "--jobs", "2", "--timeout", "3", "--no-progress"],
                            cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    thread, _ = _kill_when(lambda: proc.pid if len(_results_since(root, start)) >= 2 or proc.poll() is not None
                           else None)
    thread.join()
    assert proc.wait() == -9, "the grader finished before it could be killed"
    time.sleep(1)
    assert not _grader_processes(str(root)), "a worker outlived the killed grader"
    kept = {p: p.stat().st_mtime for p in _results_since(root, start)}
    summary = grade_class(root, ["adam_family"], jobs=2, call_timeout=3, progress=False)
    assert "graded 6 of 6 submissions (4 already done)" in summary, summary
    assert _csv_bytes(root) == serial
    assert all(p.stat().st_mtime == t for p, t in kept.items()), "a result computed before the kill was computed again"


@pytest.mark.slow  # class grading (the marker's documented use)
def test_a_killed_dask_worker_loses_nothing(graded_class, dask_client):
    """A worker is killed while it grades: the scheduler runs its tasks again, no grade is lost or changed."""
    import time

    root, *_ = graded_class
    serial = _settled(root)
    pids = dask_client.run(os.getpid)
    start = time.time()

    def busy_worker():
        if not _results_since(root, start):
            return None
        busy = [w for w, keys in dask_client.processing().items() if keys and w in pids]
        return pids[busy[0]] if busy else None

    thread, record = _kill_when(busy_worker)
    summary = grade_class(root, ["adam_family"], students=SIX, force=True, client=dask_client, call_timeout=3,
                          progress=False)
    thread.join()
    assert record["killed"] in pids.values()
    assert "graded 6 of 6 submissions" in summary and "grading failed" not in summary, summary
    assert _csv_bytes(root) == serial


def test_a_dask_worker_without_bubblewrap_stops_grading_before_it_starts():
    """The probe's answers from every worker: one that cannot isolate is named, and nothing is graded."""
    from autograde.cluster import probe_workers

    class Workers:  # what distributed.Client.run returns for the probe: each worker's answer
        def wait_for_workers(self, n, timeout):
            pass

        def run(self, function, *args, on_error):
            assert function.__name__ == "_probe" and on_error == "return"
            return {"tcp://10.0.0.1:4000": "ok",
                    "tcp://10.0.0.2:4000": "bubblewrap (bwrap) was not found: install bubblewrap",
                    "tcp://10.0.0.3:4000": ImportError("gdlib")}

    with pytest.raises(SandboxUnavailable, match=r"10\.0\.0\.2:4000: bubblewrap \(bwrap\) was not found.*"
                                                 r"10\.0\.0\.3:4000: ImportError"):
        probe_workers(Workers())
