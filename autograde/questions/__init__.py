"""The course's questions, one module per assignment (the names of :data:`autograde.course.ASSIGNMENTS`).

Each module declares its questions as data (:class:`autograde.runner.Question`
or :class:`autograde.steps.StepQuestion`: the reference, the cases, the known
mistakes) in a list ``QUESTIONS``; ``README.md`` beside this file says how to
add one.
"""

from __future__ import annotations

from importlib import import_module

from ..course import ASSIGNMENTS

BY_ASSIGNMENT = {name: list(import_module(f"{__name__}.{name}").QUESTIONS) for name in ASSIGNMENTS}
QUESTIONS = {q.function: q for questions in BY_ASSIGNMENT.values() for q in questions}


def find(function):
    """The question that asks for ``function``."""
    try:
        return QUESTIONS[function]
    except KeyError:
        raise KeyError(f"unknown question {function!r}") from None
