"""How the checks call a student's function: the :class:`Caller` protocol and the in-process caller.

Two callers implement it:

* :class:`InProcessCaller` calls the functions of a notebook's namespace
  directly (the instant feedback of :func:`autograde.notebook.check`);
* :class:`autograde.sandbox.SandboxCaller` calls them in a separate, isolated
  process (class grading), so that the references and the comparisons are out
  of the student's code's reach.

Either way ``caller.call(name, *args, **kwargs)`` returns ``(result, after)``:
the function's result as plain data, and the arguments as the call left them
(to notice inputs modified in place). Arguments may hold the recipes of
:mod:`autograde.wire` (:class:`~autograde.wire.Rng`,
:class:`~autograde.wire.Quadratic`): each call gets a fresh generator. Whatever
goes wrong in the student's code is raised as a
:class:`~autograde.errors.StudentError` subclass, never as anything else.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import MissingFunction, raised
from .wire import Quadratic, Rng


@runtime_checkable
class Caller(Protocol):
    """Calls a student's function by name (see the module's docstring)."""

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, list]:
        """``(result, arguments after the call)``; a StudentError subclass if anything went wrong."""
        ...


class InProcessCaller:
    """A :class:`Caller` that calls the functions of ``namespace`` (a notebook's globals) directly."""

    def __init__(self, namespace):
        self.namespace = namespace

    def call(self, name, *args, **kwargs):
        fn = self.namespace.get(name)
        if not callable(fn):
            raise MissingFunction(f"define a function called {name}")
        live = [materialize(a) for a in args]
        kw = {k: materialize(v) for k, v in kwargs.items()}
        try:
            result = fn(*live, **kw)
        except Exception as exc:  # the student's code raised: report it, do not crash
            raise raised(name, type(exc).__name__, exc) from None
        return plain(result), [plain(a) for a in live]


def materialize(value):
    """A live argument: a fresh generator for an :class:`Rng`, a private copy of anything else."""
    if isinstance(value, Rng):
        return value.make()
    if isinstance(value, Quadratic):
        return value
    return copy.deepcopy(value)


def plain(value):
    """Copy a returned value into plain Python/NumPy data (never a live object)."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
