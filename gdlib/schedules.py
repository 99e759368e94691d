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
* :class:`LinearWarmUp`: s(t) = t / W for the first W steps, then 1 (the gradual warm-up
  of Goyal et al., 2017, who rise linearly from the small-batch rate η/k over 5 epochs).
* :class:`Cosine`: an optional linear warm-up, then half a cosine from 1 down to
  ``floor`` = η_min / η over the remaining steps.
* :class:`WarmRestarts`: SGDR (Loshchilov and Hutter, 2017), cosine cycles of
  T_0, T_0·T_mult, T_0·T_mult², … steps, each restarting at η.
* :class:`OneCycle`: one cycle as PyTorch's ``OneCycleLR`` and fastai compute it, up from
  η / div to η, then down far below the start; Smith's own policy (2018) is closer to
  ``anneal="linear", three_phase=True``.
* :class:`Ramp`: an exponential or linear ramp, the schedule of the learning-rate
  range test (:mod:`gdlib.range_test`): Smith (2017) ramps linearly over several
  epochs; the exponential ramp is the common form of fastai's learning-rate finder.

Each class documents where it differs from ``torch.optim.lr_scheduler``; the
step t of gdlib is PyTorch's ``last_epoch`` t − 1 (tests/test_schedules.py).

* :class:`Plateau`: multiply η by ``factor`` whenever an epoch improves the
  validation loss by less than ``threshold`` (the seed's "threshold").
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._numba import jit

CONSTANT, STEP, EXPONENTIAL, INVERSE_TIME = 0, 1, 2, 3
WARM_UP, COSINE, RESTARTS, ONE_CYCLE, RAMP = 4, 5, 6, 7, 8


@jit
def _warm(t, s0, n):
    """s0 + (1 − s0) min(t − 1, n) / n: a linear rise from s0 that reaches 1 at step n + 1."""
    if n <= 0.0:
        return 1.0
    return s0 + (1.0 - s0) * min(t - 1.0, n) / n


@jit
def _half_cosine(u, length, floor):
    """From 1 at u = 0 down to ``floor`` at u = length (held there after)."""
    return floor + (1.0 - floor) * 0.5 * (1.0 + np.cos(np.pi * min(u, length) / length))


@jit
def _one_cycle(e, p):
    # p = [T, pct, div, final_div, three_phase, linear]; e = t − 1, held at T − 1 (PyTorch's phases)
    e = min(e, p[0] - 1.0)
    initial = 1.0 / p[2]
    lows = (initial, 1.0, initial) if p[4] else (initial, 1.0, 1.0)
    highs = (1.0, initial, initial / p[3]) if p[4] else (1.0, initial / p[3], initial / p[3])
    ends = (p[1] * p[0] - 1.0, 2.0 * p[1] * p[0] - 2.0, p[0] - 1.0) if p[4] else \
        (p[1] * p[0] - 1.0, p[0] - 1.0, p[0] - 1.0)
    last = 2 if p[4] else 1
    start = 0.0
    for i in range(last + 1):
        if e <= ends[i] or i == last:
            pct = (e - start) / (ends[i] - start)
            if p[5]:
                return (highs[i] - lows[i]) * pct + lows[i]
            return highs[i] + (lows[i] - highs[i]) / 2.0 * (np.cos(np.pi * pct) + 1.0)
        start = ends[i]
    return 1.0


@jit
def _cyclic_factor(kind, p, t):
    """s(t) of the warm-up, cosine, restart, one-cycle and ramp schedules."""
    if kind == WARM_UP:
        return _warm(t, p[0], p[1])
    if kind == COSINE:  # p = [T, floor, W, s0, n]
        if t <= p[2]:
            return _warm(t, p[3], p[4])
        return _half_cosine(t - 1.0 - p[2], p[0] - p[2], p[1])
    if kind == RESTARTS:  # p = [T_0, T_mult, floor]
        e, length = t - 1.0, p[0]
        if p[1] == 1.0:
            e = e - length * np.floor(e / length)
        else:
            while e >= length:
                e -= length
                length *= p[1]
        return _half_cosine(e, length, p[2])
    if kind == ONE_CYCLE:
        return _one_cycle(t - 1.0, p)
    if kind == RAMP:  # p = [start, stop, n, exponential]
        frac = min(t - 1.0, p[2] - 1.0) / (p[2] - 1.0)
        if p[3]:
            return p[0] * (p[1] / p[0]) ** frac
        return p[0] + (p[1] - p[0]) * frac
    return 1.0


@jit
def schedule_factor(kind, params, t):
    """s(t) for the step-based schedule ``kind`` with parameters ``params``."""
    if kind == STEP:
        return params[1] ** np.floor((t - 1.0) / params[0])
    if kind == EXPONENTIAL:
        return np.exp(-params[0] * (t - 1.0))
    if kind == INVERSE_TIME:
        return 1.0 / (1.0 + (t - 1.0) / params[0])
    if kind >= WARM_UP:
        return _cyclic_factor(kind, params, t)
    return 1.0


class Schedule:
    kind = CONSTANT
    params = np.zeros(2)

    def __call__(self, t):
        """s(t) at one step or an array of steps (1-based)."""
        t = np.asarray(t, dtype=np.float64)
        return np.vectorize(lambda s: schedule_factor(self.kind, self.params, s))(t)

    def etas(self, eta, n_steps):
        """The learning rates η·s(1), …, η·s(n_steps), for ``run_compiled(eta_schedule=...)``."""
        return _checks.positive(eta, "eta") * self(np.arange(1, int(n_steps) + 1))

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


def _whole(value, name, least=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be a whole number >= {least} of steps, got {value!r}")
    return int(value)


def _fraction(value, name):
    value = _checks.real_number(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1) (a fraction of η), got {value!r}")
    return value


def _warm_params(steps, start):
    """(s0, n) of :func:`_warm`: t/W by default, PyTorch's LinearLR(start, total_iters=W) if ``start``."""
    if start is None:
        return 1.0 / steps, steps - 1.0
    start = _checks.positive(start, "start")
    if start > 1:
        raise ValueError(f"start must be <= 1 (a fraction of η), got {start}")
    return start, float(steps)


class LinearWarmUp(Schedule):
    """Linear warm-up over W = ``steps`` steps, then s(t) = 1.

    Goyal et al. (2017) warm up linearly from the small-batch rate η/k (k the factor
    by which the batch grew) to η over 5 epochs; with ``start=1/k`` and W the steps of
    5 epochs this class is that ramp. Default: s(t) = min(t, W) / W, so the first step
    uses η/W and step W the full η.
    With ``start=s₀`` (PyTorch's ``LinearLR(start_factor=s₀, total_iters=W)``):
    s(t) = s₀ + (1 − s₀) min(t − 1, W) / W, which reaches η one step later, at step W + 1.
    The default equals ``LinearLR(start_factor=1/W, total_iters=W − 1)``.
    """

    kind = WARM_UP

    def __init__(self, steps, start=None):
        steps = _whole(steps, "steps")
        self.params = np.array(_warm_params(steps, start))
        self._args = (("steps", steps), ("start", start))


class Cosine(Schedule):
    """Cosine decay over ``total_steps`` T, after an optional linear warm-up of W steps.

    s(t) = warm-up of :class:`LinearWarmUp` (``warmup``, ``warmup_start``) for t ≤ W, then
    s(t) = f + (1 − f) · ½ (1 + cos(π (t − 1 − W) / (T − W))), f = ``floor`` = η_min/η,
    held at f after step T + 1. Without warm-up it is PyTorch's ``CosineAnnealingLR(T_max=T,
    eta_min=f·η)`` (which, past T_max, rises again instead of holding); with warm-up it is
    ``SequentialLR([LinearLR(...), CosineAnnealingLR(T_max=T − W)], milestones=[W])``.
    """

    kind = COSINE

    def __init__(self, total_steps, floor=0.0, warmup=0, warmup_start=None):
        total_steps = _whole(total_steps, "total_steps")
        floor = _fraction(floor, "floor")
        warmup = _whole(warmup, "warmup", least=0)
        if warmup >= total_steps:
            raise ValueError(f"warmup ({warmup}) must be shorter than total_steps ({total_steps})")
        s0, n = _warm_params(warmup, warmup_start) if warmup else (1.0, 0.0)
        self.params = np.array([total_steps, floor, warmup, s0, n], dtype=np.float64)
        self._args = (("total_steps", total_steps), ("floor", floor), ("warmup", warmup),
                      ("warmup_start", warmup_start))


class WarmRestarts(Schedule):
    """SGDR (Loshchilov and Hutter, 2017): cosine cycles that restart at η.

    Cycle i lasts T_i = T_0 · T_mult^i steps; within it, with T_cur the steps since
    the last restart, s = f + (1 − f) · ½ (1 + cos(π T_cur / T_i)), f = ``floor``.
    The same as PyTorch's ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=f·η)``.
    """

    kind = RESTARTS

    def __init__(self, T_0, T_mult=1, floor=0.0):
        T_0 = _whole(T_0, "T_0")
        T_mult = _whole(T_mult, "T_mult")
        floor = _fraction(floor, "floor")
        self.params = np.array([T_0, T_mult, floor], dtype=np.float64)
        self._args = (("T_0", T_0), ("T_mult", T_mult), ("floor", floor))

    def restarts(self, n_steps):
        """The steps t ≤ n_steps at which a new cycle starts (after the first)."""
        starts, t, length = [], 1, int(self.params[0])
        while t + length <= n_steps:
            t += length
            starts.append(t)
            length *= int(self.params[1])
        return starts


class OneCycle(Schedule):
    """One cycle as PyTorch's ``OneCycleLR`` (and fastai) computes it, after Smith and Topin (2018).

    η (the optimizer's) is the peak. Over the first ``pct_start``·T steps s rises from
    1/div to 1, then falls to 1/(div·final_div) at step T (held after). ``anneal``:
    "cos" (PyTorch's default) or "linear" (Smith's). ``three_phase=True`` comes back
    down to 1/div symmetrically before the final fall: with ``anneal="linear"`` this is
    closer to Smith's policy of two linear phases of equal length and a short annihilation.
    gdlib schedules η only: it does not cycle the momentum (``cycle_momentum=False``).
    """

    kind = ONE_CYCLE

    def __init__(self, total_steps, pct_start=0.3, div=25.0, final_div=1e4, anneal="cos", three_phase=False):
        total_steps = _whole(total_steps, "total_steps", least=2)
        pct_start = _checks.real_number(pct_start, "pct_start")
        if not 0 < pct_start * total_steps - 1 < (total_steps - 1) / (2 if three_phase else 1):
            raise ValueError(f"pct_start={pct_start} leaves an empty phase over {total_steps} steps; "
                             "take more steps or a pct_start nearer 0.3")
        div, final_div = _checks.positive(div, "div"), _checks.positive(final_div, "final_div")
        _checks.choice(anneal, "anneal", ("cos", "linear"))
        three_phase = _checks.flag(three_phase, "three_phase")
        self.params = np.array([total_steps, pct_start, div, final_div, three_phase, anneal == "linear"],
                               dtype=np.float64)
        self._args = (("total_steps", total_steps), ("pct_start", pct_start), ("div", div),
                      ("final_div", final_div), ("anneal", anneal), ("three_phase", three_phase))


class Ramp(Schedule):
    """s(t) from ``start`` at t = 1 to ``stop`` at t = ``steps`` (held after): exponential,
    start·(stop/start)^((t − 1)/(steps − 1)), or linear. The learning-rate range test's sweep."""

    kind = RAMP

    def __init__(self, start, stop, steps, mode="exponential"):
        start, stop = _checks.positive(start, "start"), _checks.positive(stop, "stop")
        steps = _whole(steps, "steps", least=2)
        _checks.choice(mode, "mode", ("exponential", "linear"))
        self.params = np.array([start, stop, steps, mode == "exponential"], dtype=np.float64)
        self._args = (("start", start), ("stop", stop), ("steps", steps), ("mode", mode))


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
