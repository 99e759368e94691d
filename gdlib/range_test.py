"""The learning-rate range test (Smith, 2017).

Train for a few hundred mini-batch steps while the learning rate ramps from
very small to very large (:class:`gdlib.schedules.Ramp`, exponential by
default), and record the mini-batch loss. At small rates the loss barely
moves; over a range of rates it falls; past some rate it turns up and the run
blows up. Smith takes the bounds of a cyclical schedule from the two ends of
the falling stretch: where the loss starts to fall and where it stops.

The recorded pairs: the loss measured after step k (before step k + 1) goes
with η_k, the rate of step k, so every loss reflects the rate that produced
it. The loss curve is smoothed by a bias-corrected exponential moving average
with factor ``smoothing`` (a single mini-batch is noisy), and the sweep is cut
where the smoothed loss exceeds ``stop_factor`` times its lowest value or stops
being finite, as the run has diverged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .schedules import Ramp


@dataclass
class RangeTest:
    """The recorded sweep and the range it suggests.

    ``etas[k]``, ``losses[k]``: the rate of a step and the mini-batch loss after it;
    ``smoothed``: the moving average of ``losses``; ``lowest``: the rate at the
    lowest smoothed loss; ``steepest``: the rate where the smoothed loss falls
    fastest per unit of log η (after the average's first 1/(1 − β) steps);
    ``suggested``: (where the smoothed loss has made ``fall`` of its total drop
    for good, ``lowest``), Smith's (base_lr, max_lr); ``diverged``: whether the
    sweep was cut.
    """

    etas: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    lowest: float
    steepest: float
    suggested: tuple
    diverged: bool


def smooth(losses, smoothing):
    """Bias-corrected exponential moving average: a_k = β a_{k−1} + (1 − β) L_k, shown as a_k / (1 − β^k)."""
    out, avg = np.empty(len(losses)), 0.0
    for k, loss in enumerate(losses, start=1):
        avg = smoothing * avg + (1 - smoothing) * loss
        out[k - 1] = avg / (1 - smoothing ** k)
    return out


def lr_range_test(model, optimizer, data, *, start=1e-5, stop=10.0, steps=200, mode="exponential",
                  batch_size=32, seed=0, smoothing=0.95, stop_factor=4.0, fall=0.1):
    """Run the range test of ``optimizer`` (its η is ignored) on ``model`` and ``data``.

    Ramps η from ``start`` to ``stop`` over ``steps`` mini-batch steps (``mode``:
    "exponential" or "linear") with :func:`gdlib.train`; returns a :class:`RangeTest`.
    """
    from .train import train

    start, stop = _checks.positive(start, "start"), _checks.positive(stop, "stop")
    if not stop > start:
        raise ValueError(f"stop ({stop}) must be larger than start ({start}): the test sweeps η upwards")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 10:
        raise ValueError(f"steps must be a whole number >= 10, got {steps!r}")
    smoothing = _checks.decay_rate(smoothing, "smoothing")
    stop_factor = _checks.positive(stop_factor, "stop_factor")
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must be > 1 (a multiple of the lowest loss), got {stop_factor}")
    fall = _checks.real_number(fall, "fall")
    if not 0 < fall < 1:
        raise ValueError(f"fall must lie in (0, 1), a fraction of the loss's total drop; got {fall}")
    ramp = Ramp(start / optimizer.eta, stop / optimizer.eta, int(steps), mode=mode)
    n_rows = data.X_train.shape[0]
    batches = -(-n_rows // (n_rows if batch_size == "full" else batch_size))
    result = train(model, optimizer, data, epochs=-(-(int(steps) + 1) // batches), batch_size=batch_size,
                   seed=seed, schedule=ramp, record_steps=True, diverge_above=np.inf)
    recorded = np.asarray(result.history.step_loss[1: int(steps) + 1], dtype=np.float64)
    etas = optimizer.eta * ramp(np.arange(1, recorded.size + 1))
    smoothed = smooth(np.where(np.isfinite(recorded), recorded, np.inf), smoothing)
    cut = recorded.size
    for k in range(recorded.size):
        if not np.isfinite(smoothed[k]) or smoothed[k] > stop_factor * np.min(smoothed[: k + 1]):
            cut = k
            break
    if cut < 3:
        raise ValueError(f"the loss blew up within {cut} steps of the sweep: lower start (now {start})")
    etas, recorded, smoothed = etas[:cut], recorded[:cut], smoothed[:cut]
    low = int(np.argmin(smoothed))
    slope = np.gradient(smoothed, np.log(etas))
    memory = min(int(round(1 / (1 - smoothing))), low)  # the average's first steps are mostly noise
    steepest = memory + int(np.argmin(slope[memory: low + 1]))
    target = smoothed[0] - fall * (smoothed[0] - smoothed[low])
    above = np.flatnonzero(smoothed[: low + 1] > target)  # the fall starts after the last of these
    begin = int(above[-1]) + 1 if above.size else 0
    return RangeTest(etas, recorded, smoothed, float(etas[low]), float(etas[steepest]),
                     (float(etas[begin]), float(etas[low])), cut < int(steps))
