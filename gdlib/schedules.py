"""Learning-rate schedules, usable inside the compiled training loop.

A schedule is a multiplier s(t) of the optimizer's learning rate: step t
(1, 2, …) uses η_t = η · s(t). The step-based schedules are evaluated by one
compiled function, :func:`schedule_factor`, inside the loop; the plateau
schedule reacts to the validation loss and so acts between epochs.

* :class:`Constant`: s(t) = 1.
* :class:`StepDecay`: s(t) = factor^⌊(t − 1) / every⌋ (drop every ``every`` steps).
* :class:`Exponential`: s(t) = exp(−rate · (t − 1)).
* :class:`InverseTime`: s(t) = 1 / (1 + (t − 1) / τ). Its sum diverges and the
  sum of its squares converges, the conditions of Robbins and Monro (1951)
  under which SGD converges.
* :class:`Plateau`: multiply η by ``factor`` whenever an epoch improves the
  validation loss by less than ``threshold`` (the seed's "threshold").
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._numba import jit

CONSTANT, STEP, EXPONENTIAL, INVERSE_TIME = 0, 1, 2, 3


@jit
def schedule_factor(kind, params, t):
    """s(t) for the step-based schedule ``kind`` with parameters ``params``."""
    if kind == STEP:
        return params[1] ** np.floor((t - 1.0) / params[0])
    if kind == EXPONENTIAL:
        return np.exp(-params[0] * (t - 1.0))
    if kind == INVERSE_TIME:
        return 1.0 / (1.0 + (t - 1.0) / params[0])
    return 1.0


class Schedule:
    kind = CONSTANT
    params = np.zeros(2)

    def __call__(self, t):
        """s(t) at one step or an array of steps (1-based)."""
        t = np.asarray(t, dtype=np.float64)
        return np.vectorize(lambda s: schedule_factor(self.kind, self.params, s))(t)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._args)})"


class Constant(Schedule):
    """s(t) = 1."""

    _args = ()


class StepDecay(Schedule):
    """s(t) = factor^⌊(t − 1) / every⌋."""

    kind = STEP

    def __init__(self, every, factor=0.5):
        every = _checks.positive(every, "every")
        factor = _checks.positive(factor, "factor")
        if factor > 1:
            raise ValueError(f"factor must be <= 1 for a decay, got {factor}")
        self.params = np.array([every, factor])
        self._args = (("every", every), ("factor", factor))


class Exponential(Schedule):
    """s(t) = exp(−rate (t − 1))."""

    kind = EXPONENTIAL

    def __init__(self, rate):
        rate = _checks.non_negative(rate, "rate")
        self.params = np.array([rate, 0.0])
        self._args = (("rate", rate),)


class InverseTime(Schedule):
    """s(t) = 1 / (1 + (t − 1)/τ): the Robbins–Monro annealing."""

    kind = INVERSE_TIME

    def __init__(self, tau):
        tau = _checks.positive(tau, "tau")
        self.params = np.array([tau, 0.0])
        self._args = (("tau", tau),)


class Plateau:
    """Multiply η by ``factor`` after ``patience`` + 1 epochs in a row whose validation
    loss improved by less than ``threshold`` (relative to the best so far)."""

    def __init__(self, factor=0.5, threshold=1e-3, patience=0):
        self.factor = _checks.positive(factor, "factor")
        if self.factor >= 1:
            raise ValueError(f"factor must be < 1, got {factor}")
        self.threshold = _checks.non_negative(threshold, "threshold")
        self.patience = _checks.whole_number(patience, "patience", low=0)
        self.start(np.inf)

    def start(self, val_loss):
        """Begin a run whose validation loss before training is ``val_loss``; the multiplier is 1."""
        self.best, self.count, self.scale = float(val_loss), 0, 1.0

    def update(self, val_loss):
        """Record one epoch's validation loss; return the multiplier of η for the next epoch."""
        if val_loss < self.best * (1 - self.threshold):
            self.best, self.count = val_loss, 0
        else:
            self.count += 1
            if self.count > self.patience:
                self.scale *= self.factor
                self.count = 0
        return self.scale

    def __repr__(self):
        return f"Plateau(factor={self.factor}, threshold={self.threshold}, patience={self.patience})"
