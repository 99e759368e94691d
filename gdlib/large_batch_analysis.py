"""What the large-batch chapter reads off its runs (``book/large-batch.md``).

The chapter trains every optimizer at every batch size with a few seeds and
records, per (optimizer, batch size), the test accuracy of each seed and the
median number of steps until the validation accuracy first reached a target
(infinite if most seeds did not: at least two of the chapter's three). The sentences that
compare those results (which optimizer loses more accuracy, which seeds are
separated, how many times fewer steps a larger batch needs) are asserted with
:func:`gdlib.claims.claim`; the numbers that need care or recur are derived
here, while the chapter still computes a few simple differences inline (such
as LAMB's gain over Adam and AdamW's gap to it) next to their glue and claims.

Two of these numbers need care:

* a step count is read at the end of an epoch: a recorded count ``s`` is the
  first epoch end at or above the target, and the first step at which the
  target was reached lies in ``(s - steps_per_epoch, s]`` provided the
  accuracy did not cross the target earlier, between two epoch ends, and fall
  back. A ratio of two counts is then known only as an interval
  (:meth:`BatchStudy.speedup`);
* two optimizers are *separated* at a batch size only when every seed of one
  ends above every seed of the other (:meth:`BatchStudy.separated`); a gap of
  the means alone is a tendency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchStudy", "finite_population_factor", "decay_shrink"]


def finite_population_factor(batch_size, n_total):
    """(N − n)/(N − 1): the factor on σ²/n of a batch of n drawn without replacement from N examples."""
    if not 1 <= batch_size <= n_total or n_total < 2:
        raise ValueError(f"finite_population_factor: need 1 <= batch_size <= n_total and n_total >= 2, "
                         f"got batch_size={batch_size}, n_total={n_total}")
    return (n_total - batch_size) / (n_total - 1)


def decay_shrink(etas, weight_decay):
    """How much decoupled decay alone shrinks the weights over a run: 1 − ∏ₜ (1 − η_t λ).

    ``etas`` are the rates of the run's steps (a schedule's ``etas(...)``); the
    gradient part of each step is left out, so this is the shrink the decay
    would cause on its own.
    """
    etas = np.asarray(etas, dtype=float)
    return float(1 - np.prod(1 - weight_decay * etas))


@dataclass
class BatchStudy:
    """The results of the large-batch experiment, per optimizer and batch size.

    Parameters
    ----------
    test_accuracy : dict
        ``(name, batch_size)`` → array of the test accuracy of each seed.
    steps_needed : dict
        ``(name, batch_size)`` → median steps to the target (``inf``: not reached).
    batch_sizes : sequence of int
        In increasing order.
    steps_per_epoch : dict
        ``batch_size`` → steps in one epoch, the resolution of a step count.
    """

    test_accuracy: dict
    steps_needed: dict
    batch_sizes: tuple
    steps_per_epoch: dict

    def __post_init__(self):
        self.batch_sizes = tuple(self.batch_sizes)
        if list(self.batch_sizes) != sorted(set(self.batch_sizes)):
            raise ValueError(f"BatchStudy: batch_sizes must increase strictly, got {self.batch_sizes}")
        missing = [n for n in self.batch_sizes if n not in self.steps_per_epoch]
        if missing:
            raise ValueError(f"BatchStudy: steps_per_epoch has no entry for batch sizes {missing}")
        if set(self.test_accuracy) != set(self.steps_needed):
            raise ValueError("BatchStudy: test_accuracy and steps_needed must have the same (name, batch) keys")

    @property
    def names(self):
        """The optimizers, in the order they first appear in ``test_accuracy``."""
        return list(dict.fromkeys(name for name, _ in self.test_accuracy))

    def mean(self, name, batch_size):
        """Mean test accuracy of the seeds."""
        return float(np.mean(self.test_accuracy[name, batch_size]))

    def seed_range(self, name, batch_size):
        """(lowest, highest) test accuracy of the seeds."""
        acc = np.asarray(self.test_accuracy[name, batch_size])
        return float(acc.min()), float(acc.max())

    def spread(self, name, batch_size):
        """Highest minus lowest test accuracy of the seeds."""
        low, high = self.seed_range(name, batch_size)
        return high - low

    def drop(self, name, small, large):
        """Mean test accuracy at batch ``small`` minus that at batch ``large`` (positive: a loss)."""
        return self.mean(name, small) - self.mean(name, large)

    def separated(self, batch_size, first, second):
        """The pairs (a, b), a in ``first`` and b in ``second``, where every seed of a ends above every seed of b."""
        return {(a, b) for a in first for b in second
                if self.seed_range(a, batch_size)[0] > self.seed_range(b, batch_size)[1]}

    def margin_images(self, batch_size, above, below, n_test):
        """How many test images the lowest seed of ``above`` is ahead of the highest seed of ``below``."""
        return round((self.seed_range(above, batch_size)[0] - self.seed_range(below, batch_size)[1]) * n_test)

    def steps(self, name):
        """The median steps to the target at every batch size, in order."""
        return [float(self.steps_needed[name, n]) for n in self.batch_sizes]

    def reached(self, name):
        """The batch sizes at which the median seed reached the target."""
        return {n for n in self.batch_sizes if np.isfinite(self.steps_needed[name, n])}

    def never_more_steps(self, name, up_to):
        """True if no step to a larger batch, up to ``up_to``, makes ``name`` need more steps."""
        counts = [self.steps_needed[name, n] for n in self.batch_sizes if n <= up_to]
        return all(later <= earlier for earlier, later in zip(counts, counts[1:]))

    def speedup(self, name, small, large):
        """(low, high): how many times fewer steps batch ``large`` needs than ``small``, allowing for the epochs.

        A count ``s`` read at the end of an epoch of ``e`` steps means a first
        step in ``s - e + 1 .. s``, assuming the accuracy did not cross the
        target earlier, between two epoch ends, and fall back below it; the
        bounds take the two extremes. Infinite counts give NaN.
        """
        s_small, s_large = self.steps_needed[name, small], self.steps_needed[name, large]
        if not (math.isfinite(s_small) and math.isfinite(s_large)):
            return math.nan, math.nan
        e_small, e_large = self.steps_per_epoch[small], self.steps_per_epoch[large]
        return (s_small - e_small + 1) / s_large, s_small / (s_large - e_large + 1)
