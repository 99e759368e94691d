"""The student's path: a fresh environment with only the `student` extra runs a released exercise.

No book toolchain, no Node.js, no nbgrader and no torch: a student installs
gdlib, the notebook checks, JupyterLab and matplotlib, opens a released
notebook and runs its first check, which says the function is not written yet.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# What the student extra must not bring in (the instructor's and the book's tools).
NOT_FOR_STUDENTS = ("torch", "nbgrader", "jupyter-book", "sphinx", "distributed")

RUN_FIRST_CHECK = r'''
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
first_check = next(i for i, c in enumerate(nb.cells)
                   if c.cell_type == "code" and "check(" in c.source)
nb.cells = nb.cells[: first_check + 1]
NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
errors = [o.ename for o in outputs if o.output_type == "error"]
print(repr(text)); print(errors)
'''


def _project_copy(dest):
    """What a student clones, less what a student does not need to install."""
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy2(ROOT / name, dest / name)
    for package in ("gdlib", "autograde"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))


@pytest.mark.slow
def test_a_fresh_student_environment_runs_a_released_exercise(tmp_path):
    project = tmp_path / "course"
    project.mkdir()
    _project_copy(project)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    start = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-c", str(project / "constraints.txt"),
                    f"{project}[student]"], check=True, timeout=900)
    seconds = time.perf_counter() - start
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True,
                               capture_output=True, text=True).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert {"numpy", "numba", "gdlib", "jupyterlab", "matplotlib", "nbclient"} <= names
    assert not names & set(NOT_FOR_STUDENTS), names & set(NOT_FOR_STUDENTS)
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"student install: {seconds:.0f} s, {size / 2**20:.0f} MiB")

    workdir = tmp_path / "work"
    workdir.mkdir()
    notebook = ROOT / "exercises" / "adam_family" / "adam_family.ipynb"
    out = subprocess.run([str(python), "-c", RUN_FIRST_CHECK, str(notebook), str(workdir)], capture_output=True,
                         text=True, timeout=600, cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    text, errors = out.stdout.strip().splitlines()[-2:]
    # the first check ran against gdlib and says the function is not written yet
    assert "adam_step" in text and "NotImplementedError" in text, text
    assert errors == "['AssertionError']", errors


def test_the_first_cell_of_every_released_notebook_says_how_to_set_up(tmp_path):
    """Without the course environment, the set-up cell fails with a message that says what to do."""
    import nbformat

    for notebook in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        setup = next(c for c in cells if c.cell_type == "code")
        assert "make student" in setup.source, notebook.name
        # -S: no site-packages, so neither NumPy nor autograde can be imported
        out = subprocess.run([sys.executable, "-I", "-S", "-c", setup.source], capture_output=True, text=True,
                             cwd=tmp_path, timeout=60)
        assert out.returncode == 1
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("ImportError: numpy is not installed") and "make student" in last, last
