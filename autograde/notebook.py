"""Instant feedback inside a student's notebook.

``check("adam_step")`` runs the visible checks of one exercise on the
functions defined in the notebook and prints how many passed ("visible
checks: 2 of 2 passed; your grade also uses hidden cases": no points, since
the grade is not known from them) and, for anything that did not, the first
differing step and quantity and the likely mistake. It raises
``AssertionError`` when something is wrong, so nbgrader's test cells fail.

This runs in the student's own kernel and is for feedback only: the class
grade is computed by ``python -m autograde grade`` in a sandbox.
"""

from __future__ import annotations

import inspect

from .checker import InProcessCaller, check as _check


def check(question, *, hidden=False):
    """Check the notebook's function ``question``; visible tests unless ``hidden``."""
    namespace = inspect.currentframe().f_back.f_globals
    result = _check(question, InProcessCaller(namespace), visible=not hidden)
    print(result.report())
    if result.score < result.points:
        raise AssertionError(f"{question} is not right yet (see above)")
    return result.score
