"""Check a student's functions against gdlib and say what is wrong: ``check(question, caller)``.

The same checks serve two places:

* in a student's notebook (:func:`autograde.notebook.check`), calling the
  student's functions directly (:class:`~autograde.caller.InProcessCaller`),
  for instant feedback;
* in class grading (:mod:`autograde.grade`), calling them through a sandbox
  (:class:`~autograde.sandbox.SandboxCaller`): a separate process that holds
  only the student's code, so the references and the comparisons are out of its
  reach.

The questions are data (:mod:`autograde.questions`, one module per
assignment); :func:`autograde.runner.run` checks any of them. This module is
the entry point the notebook and the grader use, and names what they need.
"""

from __future__ import annotations

from pathlib import Path

from .caller import Caller, InProcessCaller
from .errors import StudentError
from .questions import find
from .runner import DECIMALS, RTOL, CaseResult, QuestionResult, format_score, run

__all__ = ["DECIMALS", "RTOL", "Caller", "CaseResult", "InProcessCaller", "QuestionResult", "StudentError", "check",
           "check_sources", "format_score"]

PACKAGE = Path(__file__).resolve().parent


def check(question, caller, visible=False):
    """Run the checks of one question (a function name) through ``caller``: a :class:`QuestionResult`."""
    return run(find(question), caller, visible)


def check_sources():
    """The files that decide a grade: the checks, the questions, the callers and the sandbox."""
    names = ("checker.py", "runner.py", "steps.py", "caller.py", "errors.py", "wire.py", "sandbox.py", "_child.py")
    return [PACKAGE / name for name in names] + sorted((PACKAGE / "questions").glob("*.py"))
