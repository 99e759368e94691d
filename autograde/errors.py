"""What can go wrong with a student's function, as exception classes (never told apart by their text).

Every failure of the student's code reaches the checks as a :class:`StudentError`:
the case fails and its message is shown to the student. A caller
(:mod:`autograde.caller`, :mod:`autograde.sandbox`) raises the subclass that says
what happened; the checks raise :class:`WrongShape` for an answer they cannot read.
"""

from __future__ import annotations


class StudentError(Exception):
    """The student's code raised, timed out, crashed or returned something unusable."""


class MissingFunction(StudentError):
    """The notebook defines no function of the name asked for."""


class StudentRaised(StudentError):
    """The student's function raised an exception (``kind`` is its class name)."""

    def __init__(self, message, kind=""):
        super().__init__(message)
        self.kind = kind


class NotImplementedYet(StudentRaised):
    """The function still raises ``NotImplementedError()``: said as a plain sentence."""

    def __init__(self, name):
        super().__init__(f"you have not implemented `{name}` yet: replace `raise NotImplementedError()` with "
                         f"your code", "NotImplementedError")
        self.name = name


class StudentTimeout(StudentError):
    """The call took longer than the time allowed (an endless loop?)."""


class StudentCrash(StudentError):
    """The process running the student's code ended (sys.exit, os._exit, a crash)."""


class TooMuchOutput(StudentError):
    """The student's code printed more than the output limit."""


class WrongShape(StudentError):
    """The function returned something the check cannot use: a wrong type, shape, length or dtype."""


def raised(name, kind, text, *, wording="{name} raised {kind}: {text}"):
    """The :class:`StudentRaised` for an exception of class ``kind`` raised by the function ``name``."""
    if kind == "NotImplementedError":
        return NotImplementedYet(name)
    return StudentRaised(wording.format(name=name, kind=kind, text=text), kind)
