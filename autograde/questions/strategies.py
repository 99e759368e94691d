"""Assignment ``strategies``: early stopping and annealed gradient noise, against gdlib.strategies."""

from __future__ import annotations

from functools import partial

import numpy as np

from gdlib.strategies import EarlyStopping, gradient_noise_std

from ..errors import WrongShape
from ..runner import Case, Mistake, Question, numbers, seed
from ..wire import Rng


# ------------------------------------------------------------ early_stopping
def early_stopping_ref(val_losses, patience, min_delta=0.0):
    stopper = EarlyStopping(patience, min_delta)
    for epoch, loss in enumerate(val_losses):
        if stopper.update(epoch, loss):
            return epoch, stopper.best_epoch
    return len(val_losses) - 1, stopper.best_epoch


def early_variant(losses, patience, min_delta, *, off_by_one=False, previous=False, ignore_delta=False):
    """Recognised mistakes: stopping after ``patience`` epochs (not more), comparing with the previous
    epoch instead of the best, ignoring min_delta."""
    best, best_epoch, last = np.inf, None, np.inf
    for epoch, loss in enumerate(losses):
        reference_point = last if previous else best
        delta = 0.0 if ignore_delta else min_delta
        if best_epoch is None or loss < reference_point - delta:
            if loss < best:
                best, best_epoch = loss, epoch
            last = loss
            continue
        last = loss
        if (epoch - best_epoch >= patience) if off_by_one else (epoch - best_epoch > patience):
            return epoch, best_epoch
    return len(losses) - 1, best_epoch


def _read_epochs(got):
    pair = "the pair (stop_epoch, best_epoch) of whole numbers"
    epochs = numbers(got, "early_stopping", pair)
    if epochs.shape != (2,):
        raise WrongShape(f"early_stopping must return {pair}, got shape {epochs.shape}")
    if not (np.all(np.isfinite(epochs)) and np.all(epochs == np.round(epochs))):
        raise WrongShape(f"early_stopping must return {pair}, got {tuple(float(e) for e in epochs)}")
    return tuple(int(e) for e in epochs)


# Each recognised mistake gives the right answer in at most one of these (tests/test_wrong_answers.py).
EARLY_STOPPING = Question(
    function="early_stopping", points=4, reference=early_stopping_ref, read=_read_epochs,
    differ=lambda got, expected: None if got == expected else f"returned (stop, best) = {got}, expected {expected}",
    cases=[Case(name, (losses, patience, delta)) for name, losses, patience, delta in (
        ("stalls, patience 1", [1.0, 0.8, 0.85, 0.79, 0.9, 0.95], 1, 0.02),
        ("noisy, min_delta", [1.0, 0.6, 0.7, 0.58, 0.57, 0.62, 0.61, 0.59, 0.3], 2, 0.05),
        ("small gains below min_delta", [0.78, 0.73, 0.58, 0.71, 0.53, 0.53, 0.55], 2, 0.05),
        ("noisy, patience 1", [0.52, 0.42, 0.51, 0.4, 0.47, 0.42, 0.38, 0.48], 1, 0.02),
        ("never stops", [1.0, 0.9, 0.8, 0.7], 1, 0.0))],
    mistakes=[
        Mistake("best_is_stop", "The best epoch is the one with the lowest validation loss, whose parameters are "
                "restored, not the epoch where training stopped.",
                test=lambda case, got, expected: got[1] == got[0] and expected[1] != expected[0]),
        Mistake("off_by_one", "You stop after `patience` epochs without improvement; wait for more than "
                "`patience` epochs (patience 0 stops at the first epoch that does not improve).",
                partial(early_variant, off_by_one=True)),
        Mistake("previous_epoch", "You compare with the previous epoch instead of the best so far.",
                partial(early_variant, previous=True)),
        Mistake("ignore_delta", "An improvement must beat the best loss by more than min_delta.",
                partial(early_variant, ignore_delta=True)),
    ])


# ------------------------------------------------------------ noisy_gradient
def noisy_gradient_ref(g, t, eta_noise, gamma, rng):
    """g plus Gaussian noise of variance σ_t² = η/(1 + t)^γ (gdlib's gradient_noise_std)."""
    std = float(gradient_noise_std(float(t), float(eta_noise), float(gamma)))
    return g + std * rng.standard_normal(np.shape(g))


NOISY_GRADIENT = Question(
    function="noisy_gradient", points=3, reference=noisy_gradient_ref, what="noisy gradient", unchanged=(0,),
    inplace_advice="Return a new array: do not add the noise into g in place.",
    cases=[Case(f"t = {t}, η = {eta}, γ = {gamma}", (np.linspace(-1.0, 1.0, 7), t, eta, gamma, Rng(seed("noise", t))))
           for t, eta, gamma in ((0, 0.3, 0.55), (10, 0.01, 0.55), (999, 1.0, 1.0))],
    mistakes=[
        Mistake("variance_as_std", "σ_t² = η/(1 + t)^γ is the variance: scale the standard normal draw by its "
                "square root.",
                lambda g, t, eta, gamma, rng: g + eta / (1 + t) ** gamma * rng.standard_normal(g.shape)),
        Mistake("t_off_by_one", "t is off by one: the first step (t = 0) uses σ_0² = η.",
                lambda g, t, eta, gamma, rng: g + np.sqrt(eta / (2 + t) ** gamma) * rng.standard_normal(g.shape)),
    ])

QUESTIONS = [EARLY_STOPPING, NOISY_GRADIENT]
