"""Strategies around the optimizers: early stopping and annealed gradient noise.

Both are used by :func:`gdlib.train`, and both are small enough to read in
full; the exercises check students' versions against them.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks
from ._numba import jit


@jit
def gradient_noise_std(t, eta_noise, gamma):
    """σ_t = sqrt(η_noise / (1 + t)^γ), t = 0, 1, … the steps already taken (Neelakantan et al., 2015)."""
    return np.sqrt(eta_noise / (1.0 + t) ** gamma)


def add_gradient_noise(g, t, eta_noise, gamma, rng):
    """g + σ_t · z with z = ``rng.standard_normal(g.shape)``: a new array."""
    return g + gradient_noise_std(float(t), float(eta_noise), float(gamma)) * rng.standard_normal(np.shape(g))


class EarlyStopping:
    """Stop when the validation loss has not improved for more than ``patience`` epochs.

    An epoch improves when its loss is below the best so far by more than
    ``min_delta``. Call :meth:`update` after each epoch (epoch 0 is the model
    before training); it returns True when training should stop. ``best_epoch``
    is the epoch whose parameters should be restored.
    """

    def __init__(self, patience, min_delta=0.0):
        self.patience = _checks.whole_number(patience, "patience", low=0)
        self.min_delta = _checks.non_negative(min_delta, "min_delta")
        self.best_loss = math.inf
        self.best_epoch = None
        self.stopped_epoch = None

    def update(self, epoch, val_loss):
        """Record epoch ``epoch``'s validation loss; True if training should stop now."""
        if self.best_epoch is None or val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = float(val_loss), int(epoch)
            return False
        if epoch - self.best_epoch > self.patience:
            self.stopped_epoch = int(epoch)
            return True
        return False
