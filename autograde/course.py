"""The course's nbgrader set-up: where things are, and running nbgrader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("gd_variants", "momentum_nesterov", "adaptive_rates", "adam_family", "strategies", "parallel",
               "beyond_the_overview")


def nbgrader(args, *, root=ROOT, timeout=None, check=True):
    """Run ``nbgrader ARGS`` for the course at ``root`` (its nbgrader_config.py applies)."""
    return run_module("nbgrader", [*args, f"--CourseDirectory.root={root}"], root=root, timeout=timeout, check=check)


def run_module(module, args, *, root=ROOT, timeout=None, check=True):
    """Run ``python -m MODULE ARGS`` in the course directory ``root``, with this environment."""
    cmd = [sys.executable, "-m", module, *args]
    # nbgrader runs helpers (alembic) by name: put this environment's scripts first on PATH
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
    if check and out.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def release(assignments=ASSIGNMENTS, *, root=ROOT, release_dir=None):
    """Generate the student versions (exercises/) from the solutions with nbgrader."""
    (Path(root) / ".grading").mkdir(exist_ok=True)
    extra = [f"--CourseDirectory.release_directory={release_dir}"] if release_dir else []
    for name in assignments:
        nbgrader(["generate_assignment", name, "--force", *extra], root=root)
