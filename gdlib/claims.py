"""Claims: the sentences of the book that compare or characterise results, checked at build time.

A chapter states what its run shows in prose ("Momentum needs fewer steps than
gradient descent"). The number in that sentence is glued from the run; the
sentence around it is typed. :func:`claim` is the check that keeps the two
together: the chapter asserts the claim against the run, in a hidden cell next
to the glue, and when a change to gdlib, a seed or a hyperparameter makes the
run stop supporting the sentence, the notebook raises :class:`ClaimError`, and
the book's ``-W`` build fails with a message that names the claim and the
evidence::

    from gdlib.claims import claim
    claim(steps["Momentum"] < steps["GD"],
          "tuned Momentum reaches the tolerance in fewer steps than tuned GD",
          momentum=steps["Momentum"], gd=steps["GD"])

Every claim that held is recorded in :data:`CHECKED`, so a chapter (or a test)
can list what the page asserts.
"""

from __future__ import annotations

import math

__all__ = ["ClaimError", "claim", "CHECKED", "close", "ratio"]

#: The statement of every claim that held in this process, in the order checked.
CHECKED: list[str] = []


class ClaimError(AssertionError):
    """A sentence of the book that its own run no longer supports."""


def _show(value):
    try:
        return f"{value:.6g}"
    except (TypeError, ValueError):
        return repr(value)


def claim(holds, statement, **evidence):
    """Assert that the run supports ``statement``; raise :class:`ClaimError` if not.

    Parameters
    ----------
    holds : bool
        The condition, computed from the run (a NumPy bool is fine).
    statement : str
        The sentence as the reader sees it, or a faithful paraphrase of it.
    **evidence
        The numbers the condition was computed from; they appear in the error.

    Returns
    -------
    str
        ``statement``, so a cell can glue it when the prose is assembled from it.
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError("claim(holds, statement): statement must be the sentence being checked, as a string")
    if not isinstance(holds, bool):
        try:
            holds = bool(holds)
        except (TypeError, ValueError) as exc:  # an array with several values is ambiguous
            raise TypeError(f"claim({statement!r}): the condition must be one truth value, "
                            f"not {type(holds).__name__}; use .all() or .any()") from exc
    if not holds:
        details = ", ".join(f"{k}={_show(v)}" for k, v in evidence.items())
        raise ClaimError(f"the book claims {statement!r}, but the run does not support it"
                         + (f" ({details})" if details else "")
                         + ": change the sentence, or the run, so that they agree")
    CHECKED.append(statement)
    return statement


def close(a, b, *, rtol):
    """True if ``a`` and ``b`` agree to a relative tolerance (for claims like "the same", "matches")."""
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=0.0)


def ratio(a, b):
    """``a / b`` as a float, for claims like "about three times"; infinite if ``b`` is zero."""
    a, b = float(a), float(b)
    return math.inf if b == 0 else a / b
