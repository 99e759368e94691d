"""Batch, stochastic and mini-batch gradient descent over any model and optimizer.

One call of the compiled :func:`_epoch` (with named arguments,
:func:`compiled_epoch`) runs a whole epoch: for every
mini-batch it evaluates the model's loss and gradient (at the optimizer's
look-ahead point), optionally adds annealed Gaussian gradient noise and clips
the gradient (:mod:`gdlib.clipping`), sets the
scheduled learning rate and calls the optimizer's packed step. Python only
runs between epochs: validation, early stopping, the plateau schedule and the
progress bar.

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

import functools
import time
from collections import namedtuple
from dataclasses import dataclass, field

import numba
import numpy as np

from . import _checks
from ._numba import COUNTER, ETA, _renamed_copy, jit, lookahead_signature, step_signature
from .clipping import NO_CLIP, ByGlobalNorm, ByValue, clip_kernel
from .data import Split
from .models.base import EVAL, PREFETCH_ROWS, TRAIN, loss_grad_signature, prefetch_row
from .optim.base import lookahead_at_theta
from .optim.loop import STATUS, Status
from .optim.specialise import loop_for, source_stamp
from .schedules import Constant, Plateau, Schedule, schedule_factor
from .strategies import EarlyStopping, gradient_noise_std

DIVERGE_ABOVE = 100.0  # the default multiple of the starting training loss that counts as diverged


# The arguments of the compiled epoch, in three bundles (named tuples the compiled code unpacks).
Optimizing = namedtuple("Optimizing", "theta S h c")
Optimizing.__doc__ = "What the optimizer's packed step updates: θ, its state buffer S, h and the counters c."
Batches = namedtuple("Batches", "X y order batch_size spec buffers")
Batches.__doc__ = ("The epoch's data: rows ``order`` of X and y in batches of ``batch_size``; "
                   "the model's spec and buffers.")
Settings = namedtuple("Settings", "schedule_kind schedule_params eta noise_eta noise_gamma seed clip_kind clip_params")
Settings.__doc__ = ("η_t = eta · schedule_factor(schedule_kind, schedule_params, t); "
                    "gradient noise (noise_eta, noise_gamma); the seed of the noise; "
                   "gradient clipping (clip_kind, clip_params; see gdlib.clipping).")


def _epoch_signature(dtype):
    t = numba.from_dtype(np.dtype(dtype))
    i64, f64 = numba.types.int64, numba.types.float64
    bundle = numba.types.BaseTuple.from_types
    return numba.types.UniTuple(i64, 2)(
        numba.types.FunctionType(step_signature(dtype)),
        numba.types.FunctionType(lookahead_signature(dtype)),
        numba.types.FunctionType(loss_grad_signature(dtype)),
        numba.types.boolean,
        bundle((t[::1], t[:, ::1], f64[::1], f64[::1]), Optimizing),
        bundle((t[:, ::1], t[::1], i64[::1], i64, i64[::1], f64[::1]), Batches),
        bundle((i64, f64[::1], f64, f64, f64, i64, i64, f64[::1]), Settings),
        f64[::1],  # per-step losses (empty: not recorded)
    )


def _epoch(step, lookahead, loss_grad, at_theta, optimizing, batches, settings, step_losses):
    """One epoch in compiled code. Returns (steps taken, status code, see ``Status``).

    Calls the model's ``loss_grad`` at θ (``at_theta``: the look-ahead is θ
    itself, so its copy is skipped) or at the look-ahead point
    ``lookahead(theta, S, h, point)``, then the packed step
    ``step(theta, g, S, h, c)``. Compiled once per dtype for all optimizers and
    models (``EPOCHS``);
    :func:`gdlib.optim.specialise.loop_for` compiles its source per optimizer
    step, look-ahead and model, the first four parameters as globals (the step
    inlined below the parallel threshold).
    """
    theta, S, h, c = optimizing
    X, y, order, batch_size, spec, buffers = batches
    schedule_kind, schedule_params, eta, noise_eta, noise_gamma, seed, clip_kind, clip_params = settings
    n = order.size
    n_batches = (n + batch_size - 1) // batch_size
    point = np.empty_like(theta)
    g = np.empty_like(theta)
    record = step_losses.size > 0
    np.random.seed(seed)
    for b in range(n_batches):
        idx = order[b * batch_size : min((b + 1) * batch_size, n)]
        if at_theta:
            loss = loss_grad(theta, X, y, idx, g, spec, buffers, TRAIN)
        else:
            lookahead(theta, S, h, point)
            loss = loss_grad(point, X, y, idx, g, spec, buffers, TRAIN)
        for r in range((b + 1) * batch_size, min((b + 1) * batch_size + PREFETCH_ROWS, n)):
            prefetch_row(X, order[r])  # the next batch's first rows load during the step
        if record:
            step_losses[b] = loss
        if noise_eta > 0.0:
            sigma = gradient_noise_std(c[COUNTER.t], noise_eta, noise_gamma)
            for i in range(g.size):
                g[i] += sigma * np.random.standard_normal()
        for i in range(g.size):
            if not np.isfinite(g[i]):
                return b, Status.nonfinite_gradient
        if clip_kind != NO_CLIP:
            clip_kernel(clip_kind, clip_params, g)
        h[ETA] = eta * schedule_factor(schedule_kind, schedule_params, c[COUNTER.t] + 1.0)
        step(theta, g, S, h, c)
        for i in range(theta.size):
            if not np.isfinite(theta[i]):
                return b + 1, Status.diverged
    return n_batches, Status.ok


#: The generic epoch, one dispatcher per dtype of θ (see ``gdlib.optim.loop.RUNS``). Its machine
#: code takes in the clipping's, the schedules' and the models' kernels, and Numba's cache only
#: watches this file: the cache name carries the digest of every module it compiles in
#: (``source_stamp``), so that editing one of them never loads an epoch compiled from the old source.
EPOCHS = {np.dtype(dtype): jit(_renamed_copy(_epoch, f"_{np.dtype(dtype).name}_{source_stamp()}"),
                               signatures=[_epoch_signature(dtype)])
          for dtype in (np.float64, np.float32)}


def compiled_epoch(optimizer, theta, state, loss_grad, X, y, rows, batch_size, *, spec, buffers, hyper=None,
                   schedule=None, eta=None, gradient_noise=(0.0, 0.0), seed=0, step_losses=None,
                   clip=None, specialise=False):
    """One compiled epoch (:func:`_epoch`) with named arguments: the steps of
    :func:`minibatch_epoch`, in machine code. Updates ``theta`` and ``state`` in place.

    ``loss_grad`` is a model's compiled ``_loss_grad`` (or any function of its
    signature); ``hyper`` the packed h to use (default a copy of the optimizer's;
    its learning-rate slot is overwritten every step); ``eta`` the learning rate
    the schedule multiplies (default the optimizer's η); ``step_losses``, if
    given, receives the loss of each mini-batch; ``clip`` a
    :class:`gdlib.clipping.ByValue` or :class:`~gdlib.clipping.ByGlobalNorm` (default none); ``specialise``
    compiles the epoch for this optimizer and model (:func:`gdlib.optim.specialise.loop_for`: the same
    results, seconds of compilation per new pair). Returns (steps taken, status
    name, one of :data:`gdlib.optim.loop.STATUS`).
    """
    schedule = schedule or Constant()
    hyper = optimizer.hyper.copy() if hyper is None else hyper
    if not isinstance(loss_grad, numba.core.registry.CPUDispatcher):
        raise TypeError("loss_grad must be a Numba-compiled function of a model's _loss_grad signature")
    if not isinstance(theta, np.ndarray) or theta.dtype not in EPOCHS:
        raise TypeError(f"theta must be a float32 or float64 NumPy array, got {getattr(theta, 'dtype', type(theta))}; "
                        "convert it with theta.astype(np.float64)")
    step, lookahead = optimizer._packed_step, optimizer._packed_lookahead
    if specialise:
        epoch = loop_for(_epoch, step, lookahead, loss_grad, bool(theta.size < hyper[-1]), inline_function=False)
    else:
        epoch = functools.partial(EPOCHS[theta.dtype], step, lookahead, loss_grad, lookahead is lookahead_at_theta)
    steps, status = epoch(
        Optimizing(theta, state.buffer, hyper, state.counters),
        Batches(X, y, rows, int(batch_size), spec, buffers),
        Settings(int(schedule.kind), schedule.params, float(optimizer.eta if eta is None else eta),
                 float(gradient_noise[0]), float(gradient_noise[1]), int(seed),
                 NO_CLIP if clip is None else int(clip.kind), np.zeros(2) if clip is None else clip.params),
        np.empty(0) if step_losses is None else step_losses,
    )
    return int(steps), STATUS[status]


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

    :func:`_epoch` compiles the same loop. ``rows`` is the epoch's order of
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
