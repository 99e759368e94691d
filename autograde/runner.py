"""One runner for every question: cases → the student's function → compare → name the mistake.

A :class:`Question` is data: the student's function's name, its points, a
reference (computed with gdlib, the course's ground truth), its cases and its
known mistakes. :func:`run` checks it through a :class:`~autograde.caller.Caller`:

1. for each case, compute what the reference computes;
2. call the student's function through the caller (a
   :class:`~autograde.errors.StudentError` fails the case with its message);
3. compare with a relative tolerance (:data:`RTOL`); the case passes when the
   values are right *and* the inputs named in ``unchanged`` were left as they
   were (a property is a condition on correct cases, never points of its own);
4. when the values differ, say where (the first differing quantity) and name
   the known :class:`Mistake` the answer matches (the first in declared order),
   in plain words.

Cases have fixed seeds (grading twice gives the same grades) and an equal share
of the points each. The first ``visible`` cases are the notebook's instant
check; grading runs them all. Scores are rounded to :data:`DECIMALS` where they
are computed, so the gradebook, the report and the feedback show one number.
Every named mistake fails all cases but at most a third of a question's
(``tests/test_wrong_answers.py``).

Step questions (an optimizer's ``init`` and ``step`` over several steps) are the
subclass :class:`autograde.steps.StepQuestion`; how to add a question is in
``autograde/questions/README.md``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .caller import Caller, materialize
from .errors import StudentError, WrongShape

RTOL = 1e-8
DECIMALS = 2
MODIFIED = "the values are right, but the arrays passed in were modified"


# -------------------------------------------------------------- the results
@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""


@dataclass
class QuestionResult:
    question: str
    points: float
    cases: list = field(default_factory=list)
    diagnosis: list = field(default_factory=list)
    visible: bool = False  # only the visible cases ran (the notebook's instant check)

    @property
    def passed(self):
        return sum(c.passed for c in self.cases)

    @property
    def score(self):
        """The share of the points of the cases passed, rounded as everywhere it is shown."""
        if not self.cases:
            return 0.0
        return round(self.points * self.passed / len(self.cases), DECIMALS)

    def header(self):
        if self.visible:
            return (f"{self.question}: visible checks: {self.passed} of {len(self.cases)} passed; "
                    f"your grade also uses hidden cases")
        return f"{self.question}: {format_score(self.score)} / {format_score(self.points)} points"

    def report(self):
        lines = [self.header()]
        said = set()
        for c in self.cases:
            message = c.message
            if message and message in said:
                message = "the same as above"
            said.add(c.message)
            lines.append(f"  [{'ok' if c.passed else 'x '}] {c.name}" + (f": {message}" if message else ""))
        for d in dict.fromkeys(self.diagnosis):
            if d not in said:
                lines.append(f"  -> {d}")
        return "\n".join(lines)


def format_score(value):
    """A score or a number of points as every report and feedback page shows it: two decimals."""
    return f"{float(value):.{DECIMALS}f}"


# -------------------------------------------------------------- comparisons
def seed(*parts):
    """A fixed seed named by its parts (the same cases at every grading)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def close(a, b):
    """Equal within :data:`RTOL` (NaN where NaN is right), and of the same shape."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    finite = np.abs(b[np.isfinite(b)])  # an infinite entry must not make the tolerance infinite
    scale = max(float(finite.max()) if finite.size else 0.0, 1e-300)
    return bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale * 1e-3, equal_nan=True))


def describe(a, b):
    """Where ``a`` differs from the right ``b``, in a few words."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return f"shape {a.shape}, expected {b.shape}"
    if np.isnan(a).any() and not np.isnan(b).any():
        return "contains NaN where the correct value is finite"
    i = np.unravel_index(np.argmax(np.abs(a - b)), a.shape)
    return f"entry {tuple(int(k) for k in i)} is {a[i]:.10g}, expected {b[i]:.10g}"


def numbers(value, function, what="numbers"):
    """``value`` (something the student's ``function`` returned) as a float64 array; :class:`WrongShape`
    saying "``function`` must return ``what``" when it is not numbers, or that a whole number is too
    large for a float (a Python int beyond 1.8e308, which NumPy refuses with OverflowError)."""
    try:
        return np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise WrongShape(f"{function} returned a whole number too large for a float (beyond about 1.8e308): "
                         f"compute with floats or NumPy arrays, not Python integers") from None
    except (TypeError, ValueError):
        raise WrongShape(f"{function} must return {what}") from None


def same(a, b):
    """Exactly equal (in-place changes are noticed to the bit). Whatever the
    submission left in an argument that is not an array of numbers (a ragged
    list, an int beyond float range) is not the same: it was modified."""
    try:
        return np.array_equal(np.asarray(a), np.asarray(b))
    except (TypeError, ValueError, OverflowError):
        return False


# ------------------------------------------------------------ the questions
@dataclass(frozen=True)
class Case:
    """One call of the student's function: its arguments (plain data or :mod:`autograde.wire` recipes)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A wrong answer students write, and what the feedback says when an answer matches it.

    Either ``rule``, the wrong rule itself (called like the reference; the answer matches
    when it computes the same), or ``test``, a property of a wrong answer
    ``test(case, answer, expected) -> bool`` (for mistakes that are not one rule)."""

    name: str
    message: str
    rule: Callable | None = None
    test: Callable | None = None

    def __post_init__(self):
        if (self.rule is None) == (self.test is None):
            raise ValueError(f"mistake {self.name!r}: give either a rule or a test")


@dataclass
class Question:
    """A function to write: ``function(*case.args, **case.kwargs)`` must compute what ``reference`` does.

    ``outputs`` names the parts of a returned tuple (``None``: one array); ``what``
    introduces a differing single answer in the feedback; ``unchanged`` are the
    positions of the arguments the function must not modify, ``inplace_advice`` what
    to do instead. ``read`` turns the returned value into the answer compared
    (raising :class:`~autograde.errors.WrongShape` for one it cannot use) and
    ``differ(answer, expected)`` says where an answer differs (``None``: it does
    not); both have defaults for arrays."""

    function: str
    reference: Callable
    cases: list
    mistakes: list = field(default_factory=list)
    points: float = 3
    outputs: tuple | None = None
    what: str = "value"
    unchanged: tuple = ()
    inplace_advice: str = "Return new arrays: do not modify the arrays passed in."
    read: Callable | None = None
    differ: Callable | None = None
    visible: int = 2  # the notebook's instant check runs this many cases

    # each method below is one step of :func:`run`; a kind of question may override them
    def compute(self, rule, case):
        """What ``rule`` (the reference or a mistake) returns for the case."""
        return rule(*(materialize(a) for a in case.args), **case.kwargs)

    def ask(self, caller: Caller, case):
        """(the student's answer, whether it modified an argument it must not)."""
        got, after = caller.call(self.function, *case.args, **case.kwargs)
        answer = self.read(got) if self.read else self._read(got)
        return answer, any(not same(after[i], case.args[i]) for i in self.unchanged)

    def _read(self, got):
        parts = (got,)
        if self.outputs is not None:
            if not (isinstance(got, tuple) and len(got) == len(self.outputs)):
                pair = "pair" if len(self.outputs) == 2 else "tuple"
                raise WrongShape(f"{self.function} must return the {pair} ({', '.join(self.outputs)})")
            parts = got
        parts = tuple(numbers(p, self.function, "arrays of numbers") for p in parts)
        return parts if self.outputs is not None else parts[0]

    def difference(self, answer, expected):
        if self.differ:
            return self.differ(answer, expected)
        if self.outputs is None:
            return None if close(answer, expected) else f"{self.what} {describe(answer, expected)}"
        for name, a, b in zip(self.outputs, answer, expected):
            if not close(a, b):
                return f"{name}: {describe(a, b)}"
        return None

    def diagnose(self, case, answer, expected):
        """The message of the first known mistake (in declared order) the wrong answer matches; else
        :meth:`fallback`'s (two rules can agree on a case: naming both would blame one wrongly)."""
        for m in self.mistakes:
            if m.test(case, answer, expected) if m.test else self.matches(answer, self.compute(m.rule, case)):
                return [m.message]
        return self.fallback(case, answer, expected)

    def matches(self, answer, wrong):
        """The answer computes what the wrong rule computes."""
        return self.difference(answer, wrong) is None

    def fallback(self, case, answer, expected):
        """What to say about a wrong answer that matches no known mistake."""
        return []


def run(question: Question, caller: Caller, visible=False):
    """Check ``question`` through ``caller`` (all cases, or only the first ``question.visible``)."""
    result = QuestionResult(question.function, question.points, visible=visible)
    for case in question.cases[:question.visible] if visible else question.cases:
        expected = question.compute(question.reference, case)
        try:
            answer, mutated = question.ask(caller, case)
        except StudentError as exc:
            result.cases.append(CaseResult(case.name, False, str(exc)))
            continue
        difference = question.difference(answer, expected)
        if mutated:  # right values or not, the case is not passed: the caller's arrays were changed
            result.diagnosis.append(question.inplace_advice)
        if difference is None:
            result.cases.append(CaseResult(case.name, not mutated, MODIFIED if mutated else ""))
            continue
        result.cases.append(CaseResult(case.name, False, difference))
        result.diagnosis.extend(question.diagnose(case, answer, expected))
    return result
