"""Batch, stochastic and mini-batch gradient descent over any model and optimizer.

One call of :func:`gdlib.epoch.compiled_epoch` runs a whole epoch in
machine code (the model's loss and gradient, gradient noise, clipping, the
scheduled learning rate and the optimizer's packed step for every
mini-batch). Python only runs between epochs: validation, early stopping,
the plateau schedule and the progress bar.

Batch size: ``batch_size="full"`` is batch gradient descent, 1 is stochastic
gradient descent, anything between is mini-batch. An epoch visits every
training row exactly once; when the batch size does not divide the number of
rows, the last batch of the epoch is smaller (it holds the remainder) rather
than dropped or padded, so no row is skipped or repeated.

Order: ``"shuffle"`` draws a new permutation every epoch from the seed,
``"fixed"`` keeps the data's order, ``"curriculum"`` sorts rows by a given
difficulty score, easy first (Bengio et al., 2009).

Gradient noise (Neelakantan et al., 2015): g_t ← g_t + N(0, σ_t²) with
σ_t² = η_noise / (1 + t)^γ, t = 0, 1, … the number of steps already taken.

Divergence: a run stops with status ``"diverged"`` when the parameters
become non-finite, or when the training loss evaluated after an epoch is not
finite or exceeds ``diverge_above`` times the training loss before training
(epoch 0). The default, 100, flags a run that has blown up while still
finite (a loss of 10^18 is "diverged", not "ok"), and leaves alone a run
whose loss rises for a while by less than that factor. A run that starts at
an exact minimum (training loss 0) is only "diverged" on a non-finite loss. A run that stops on a
NaN or infinite mini-batch gradient has status ``"nonfinite_gradient"``.
``TrainResult.status`` is one of :data:`gdlib.optim.loop.STATUS`.

Everything is seeded: the same arguments give bit-identical results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from .clipping import ByGlobalNorm, ByValue
from .data import Split
from .epoch import compiled_epoch
from .models.base import EVAL
from .optim.loop import STATUS, Status
from .schedules import Constant, Plateau, Schedule
from .strategies import EarlyStopping

DIVERGE_ABOVE = 100.0  # the default multiple of the starting training loss that counts as diverged


@dataclass
class History:
    """Losses per epoch (index 0: before training) and, optionally, per step."""

    #: Training loss after each epoch; index 0 is the loss before training.
    train_loss: list = field(default_factory=list)
    #: Validation loss, indexed like ``train_loss``.
    val_loss: list = field(default_factory=list)
    #: Validation accuracy, indexed like ``train_loss`` (classifiers only; empty for regression).
    val_accuracy: list = field(default_factory=list)
    #: η times the plateau factor in force during each epoch (NaN at index 0).
    eta: list = field(default_factory=list)
    #: Wall-clock seconds since the start of training, per epoch.
    seconds: list = field(default_factory=list)
    #: Every mini-batch loss, when ``train(..., record_steps=True)``.
    step_loss: list = field(default_factory=list)

    @property
    def epochs(self):
        """The epoch numbers 0, 1, … of the recorded losses, 0 being the model before training."""
        return np.arange(len(self.train_loss))


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    #: The parameters returned, the best ones under early stopping, else the last.
    theta: np.ndarray
    #: Batch-normalization running statistics (empty for models without them).
    buffers: np.ndarray
    #: The optimizer's state after the last step.
    state: object
    #: Losses, accuracies and learning rates per epoch (:class:`History`).
    history: History
    #: The number of optimizer steps taken.
    steps: int
    #: "ok", "nonfinite_gradient" or "diverged" (see the module docstring).
    status: str
    #: Epoch of the lowest validation loss.
    best_epoch: int
    #: True when early stopping ended the run.
    stopped_early: bool

    def __repr__(self):
        return (f"TrainResult(status={self.status!r}, epochs={len(self.history.train_loss) - 1}, "
                f"steps={self.steps}, best_epoch={self.best_epoch}, stopped_early={self.stopped_early}, "
                f"final val_loss={self.history.val_loss[-1]:.4g})")


def epoch_order(n, epoch, *, order="shuffle", seed=0, difficulty=None):
    """The row order of one epoch (a permutation of 0 … n−1)."""
    if order == "shuffle":
        return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64)
    if order == "fixed":
        return np.arange(n, dtype=np.int64)
    return np.argsort(difficulty, kind="stable").astype(np.int64)


def minibatch_epoch(model, optimizer, theta, state, X, y, *, batch_size, rows):
    """One epoch of mini-batch gradient descent, written to be read.

    :func:`gdlib.epoch._epoch` compiles the same loop. ``rows`` is the epoch's order of
    the training rows (:func:`epoch_order`); the last batch holds the
    remainder. Updates ``theta`` and ``state`` in place. Without gradient
    noise, a schedule or batch normalization, it takes the same steps as the
    epochs of :func:`train`.
    """
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]              # the last batch may be smaller
        point = optimizer.lookahead(theta, state)           # θ itself, except for Nesterov
        g = model.gradient(point, X[batch], y[batch])       # the mean gradient over the batch
        optimizer.step(theta, g, state)                     # the optimizer's update rule
    return theta


def _validate(model, optimizer, data, epochs, batch_size, order, difficulty, early_stopping, gradient_noise,
              schedule, plateau, diverge_above, clip=None):
    from .models.base import Model
    from .optim.base import Optimizer

    if not isinstance(model, Model):
        raise TypeError(f"model must be a gdlib model (gdlib.models), got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a gdlib optimizer such as gdlib.Adam(), got {type(optimizer).__name__}")
    if not isinstance(data, Split):
        raise TypeError("data must be a gdlib.data.Split (use gdlib.data.split(X, y) to make one)")
    _checks.whole_number(epochs, "epochs", low=1)
    n = data.X_train.shape[0]
    if batch_size == "full":
        batch_size = n
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
        raise TypeError(f"batch_size must be a whole number or 'full', got {batch_size!r}")
    if not 1 <= batch_size <= n:
        raise ValueError(
            f"batch_size must be between 1 (stochastic) and the number of training rows {n} (batch); "
            f"got {batch_size}"
        )
    _checks.choice(order, "order", ("shuffle", "fixed", "curriculum"))
    if order == "curriculum":
        if difficulty is None:
            raise ValueError("order='curriculum' needs difficulty=: one score per training row, easy = low")
        difficulty = np.asarray(difficulty, dtype=np.float64)
        if difficulty.shape != (n,) or not np.all(np.isfinite(difficulty)):
            raise ValueError(f"difficulty must hold {n} finite scores, one per training row")
    if early_stopping is not None and (not isinstance(early_stopping, (int, np.integer)) or early_stopping < 0):
        raise ValueError(f"early_stopping is the patience in epochs, a whole number >= 0; got {early_stopping!r}")
    if gradient_noise is not None:
        if len(gradient_noise) != 2:
            raise ValueError("gradient_noise must be (eta_noise, gamma), e.g. (0.01, 0.55)")
        _checks.positive(gradient_noise[0], "gradient noise eta")
        _checks.non_negative(gradient_noise[1], "gradient noise gamma")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError("schedule must come from gdlib.schedules (Constant, StepDecay, Exponential, InverseTime, "
                        "LinearWarmUp, Cosine, WarmRestarts, OneCycle, Ramp)")
    if clip is not None and not isinstance(clip, (ByValue, ByGlobalNorm)):
        raise TypeError("clip must be gdlib.clipping.ByValue(c) or gdlib.clipping.ByGlobalNorm(max_norm)")
    if plateau is not None and not isinstance(plateau, Plateau):
        raise TypeError("plateau must be a gdlib.schedules.Plateau")
    if (isinstance(diverge_above, bool) or not isinstance(diverge_above, (int, float, np.integer, np.floating))
            or not diverge_above > 1):
        raise ValueError(f"diverge_above must be a number > 1 (a multiple of the starting loss), "
                         f"got {diverge_above!r}")
    return int(batch_size), difficulty


def train(model, optimizer, data, *, epochs=10, batch_size=32, seed=0, order="shuffle", difficulty=None,
          schedule=None, plateau=None, early_stopping=None, min_delta=0.0, gradient_noise=None, theta0=None,
          diverge_above=DIVERGE_ABOVE, dtype=np.float64, record_steps=False, progress=False, clip=None,
          specialise=False):
    """Train ``model`` on ``data.X_train`` with ``optimizer``; see the module docstring.

    Parameters
    ----------
    epochs : int
        Number of passes over the training rows.
    batch_size : int or "full"
        1 (SGD), n_train or "full" (batch GD), or anything between.
    seed : int
        Seeds the initial parameters (if ``theta0`` is None), the shuffles and the noise.
    order : str
        "shuffle", "fixed" or "curriculum" (with ``difficulty``, one score per row).
    schedule : schedule, optional
        A step-based schedule from :mod:`gdlib.schedules` (multiplies η).
    plateau : gdlib.schedules.Plateau, optional
        A :class:`gdlib.schedules.Plateau`, applied between epochs.
    early_stopping : int, optional
        Patience in epochs: training stops once *more than* that many epochs have
        passed since the best validation loss (an improvement must beat it by more
        than ``min_delta``), that is after patience + 1 epochs without improvement,
        and the best parameters are returned. Keras's ``EarlyStopping(patience=k)``
        stops one epoch sooner, after k epochs without improvement.
    min_delta : float
        The smallest decrease of the validation loss that counts as an improvement.
    gradient_noise : tuple of float, optional
        (η_noise, γ) for σ_t² = η_noise / (1 + t)^γ.
    clip : gdlib.clipping.ByValue or gdlib.clipping.ByGlobalNorm, optional
        ``gdlib.clipping.ByValue(c)`` or ``ByGlobalNorm(max_norm)``: clip every mini-batch
        gradient (after the noise) before the step.
    theta0 : numpy.ndarray
        Starting parameters (copied); default ``model.init_params(seed)``.
    diverge_above : float
        Stop with status "diverged" when the training loss after an epoch exceeds
        this multiple of the loss before training, or is not finite (default 100).
    record_steps : bool
        Keep every mini-batch loss in ``history.step_loss``.
    progress : bool
        Show a progress bar (tqdm; in notebooks a widget).
    specialise : bool
        Compile the epoch for this optimizer and model
        (:func:`gdlib.optim.specialise.loop_for`): bit-identical results,
        seconds of compilation for each new pair; default False (one epoch
        loop compiled once for all optimizers and models).
    """
    if not isinstance(specialise, bool):
        raise TypeError(f"specialise must be True or False, got {specialise!r}")
    batch_size, difficulty = _validate(model, optimizer, data, epochs, batch_size, order, difficulty,
                                       early_stopping, gradient_noise, schedule, plateau, diverge_above, clip)
    dtype = np.dtype(dtype)
    X, y = model.check_data(data.X_train, data.y_train, dtype)
    X_val, y_val = model.check_data(data.X_val, data.y_val, dtype)
    if theta0 is None:
        theta = model.init_params(seed, dtype=dtype)
    else:
        theta = np.array(model._check_theta(theta0), dtype=dtype, copy=True)
    buffers = model.new_buffers()
    state = optimizer.init(theta)
    schedule = schedule or Constant()
    noise_eta, noise_gamma = (float(gradient_noise[0]), float(gradient_noise[1])) if gradient_noise else (0.0, 0.0)
    hyper = optimizer.hyper.copy()
    n = X.shape[0]
    n_batches = (n + batch_size - 1) // batch_size

    history = History()
    all_idx, val_idx = np.arange(n, dtype=np.int64), np.arange(X_val.shape[0], dtype=np.int64)
    empty = np.empty(0, dtype=dtype)

    def evaluate(t0):
        history.train_loss.append(model._loss_grad(theta, X, y, all_idx, empty, model.spec, buffers, EVAL))
        history.val_loss.append(model._loss_grad(theta, X_val, y_val, val_idx, empty, model.spec, buffers, EVAL))
        if model.classifier:
            history.val_accuracy.append(model.accuracy(theta, X_val, y_val, buffers if model.n_buffers else None))
        history.seconds.append(time.perf_counter() - t0)

    start = time.perf_counter()
    evaluate(start)
    history.eta.append(float("nan"))
    stopper = EarlyStopping(early_stopping if early_stopping is not None else epochs + 1, min_delta)
    stopper.update(0, history.val_loss[0])
    best_theta, best_buffers = theta.copy(), buffers.copy()
    plateau_factor = 1.0  # η's multiplier from the plateau schedule
    if plateau is not None:
        plateau.start(history.val_loss[0])
    status, steps, stopped_early = STATUS[Status.ok], 0, False
    # the loss past which the run counts as diverged; from an exact minimum (loss 0) only a non-finite one
    limit = float(diverge_above) * history.train_loss[0] if history.train_loss[0] > 0 else np.inf

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"{type(optimizer).__name__} on {model!r}"[:60], unit="epoch")
    for epoch in range(1, epochs + 1):
        rows = epoch_order(n, epoch, order=order, seed=seed, difficulty=difficulty)
        step_losses = np.empty(n_batches if record_steps else 0)
        eta = optimizer.eta * plateau_factor
        done, status = compiled_epoch(
            optimizer, theta, state, model._loss_grad, X, y, rows, batch_size, spec=model.spec,
            buffers=buffers, hyper=hyper, schedule=schedule, eta=eta, gradient_noise=(noise_eta, noise_gamma),
            seed=int(seed) * 100_003 + epoch, step_losses=step_losses, clip=clip,
            specialise=specialise,
        )
        steps += done
        if record_steps:
            history.step_loss.extend(step_losses[:done].tolist())
        if status != STATUS[Status.ok]:
            break
        evaluate(start)
        history.eta.append(eta)
        if not history.train_loss[-1] <= limit:  # also catches NaN and inf
            status = STATUS[Status.diverged]
            break
        if bar is not None:
            bar.set_postfix(train=f"{history.train_loss[-1]:.4g}", val=f"{history.val_loss[-1]:.4g}")
            bar.update(1)
        if stopper.update(epoch, history.val_loss[-1]):
            stopped_early = True
            break
        if stopper.best_epoch == epoch:
            best_theta, best_buffers = theta.copy(), buffers.copy()
        if plateau is not None:
            plateau_factor = plateau.update(history.val_loss[-1])
    if bar is not None:
        bar.close()
    if early_stopping is not None:
        theta, buffers = best_theta, best_buffers
    return TrainResult(theta, buffers, state, history, steps, status, stopper.best_epoch, stopped_early)
