"""One epoch of mini-batch training inside one compiled call.

:func:`compiled_epoch` (named arguments) calls the compiled :func:`_epoch`,
which for every mini-batch evaluates the model's loss and gradient (at the
optimizer's look-ahead point), optionally adds annealed Gaussian gradient
noise and clips the gradient (:mod:`gdlib.clipping`), sets the scheduled
learning rate and calls the optimizer's packed step. :func:`gdlib.train.train`
drives it epoch by epoch; Python only runs between epochs.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numba
import numpy as np

from ._numba import COUNTER, ETA, _renamed_copy, jit, lookahead_signature, step_signature
from .clipping import NO_CLIP, clip_kernel
from .models.base import PREFETCH_ROWS, TRAIN, loss_grad_signature, prefetch_row
from .optim.base import lookahead_at_theta
from .optim.loop import STATUS, Status
from .optim.specialise import loop_for
from .schedules import Constant, schedule_factor
from .strategies import gradient_noise_std


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
#: code takes in the clipping's, the schedules' and the models' kernels; like every gdlib function
#: it is cached against the digest of all of gdlib (``gdlib._numba.package_stamp``).
EPOCHS = {np.dtype(dtype): jit(_renamed_copy(_epoch, "_" + np.dtype(dtype).name), signatures=[_epoch_signature(dtype)])
          for dtype in (np.float64, np.float32)}


def compiled_epoch(optimizer, theta, state, loss_grad, X, y, rows, batch_size, *, spec, buffers, hyper=None,
                   schedule=None, eta=None, gradient_noise=(0.0, 0.0), seed=0, step_losses=None,
                   clip=None, specialise=False):
    """One compiled epoch (:func:`_epoch`) with named arguments: the steps of
    :func:`gdlib.train.minibatch_epoch`, in machine code. Updates ``theta`` and ``state`` in place.

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
