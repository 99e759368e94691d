"""A whole optimization run inside one compiled call.

``run_compiled`` drives any optimizer's packed step with any compiled
gradient function, so thousands of steps never return to Python. It runs
exactly the arithmetic that :meth:`Optimizer.step` runs, so a compiled run
and a Python loop of ``step`` calls give bit-identical trajectories.

The loop ``_run`` takes the step, the look-ahead and the gradient as
first-class function arguments and is compiled once per dtype (eager signatures,
cached) for every optimizer and gradient. ``specialise=True`` compiles its
source once per (optimizer step, look-ahead, gradient) instead, with the step
and the gradient inlined when θ is small (:mod:`gdlib.optim.specialise`):
faster per step, but each new pair costs seconds of compilation.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import _checks
from .._numba import ETA, _renamed_copy, constants, jit, lookahead_signature, step_signature
from .base import lookahead_at_theta
from .specialise import loop_for

#: How a run ended, the one definition that ``run_compiled`` and ``gdlib.train`` share:
#: "ok" (finished), "nonfinite_gradient" (stopped on a NaN or infinite gradient),
#: "diverged" (θ became non-finite; for ``train`` also a loss past its stated multiple).
#: The compiled loops return the codes ``Status.ok`` (0), ``Status.nonfinite_gradient`` (1)
#: and ``Status.diverged`` (2); results carry the names.
Status = constants("ok", "nonfinite_gradient", "diverged")
#: The names indexed by code, so that ``STATUS[Status.diverged] == "diverged"``.
STATUS = Status._fields
STATUS_OK, STATUS_NONFINITE_GRADIENT, STATUS_DIVERGED = Status  # the codes under their former names


def _gradient_signature(dtype):
    t = numba.from_dtype(np.dtype(dtype))
    return numba.types.void(t[::1], t[::1])


def _runner_signature(dtype):
    t = numba.from_dtype(np.dtype(dtype))
    f64 = numba.types.float64
    return numba.types.UniTuple(numba.types.int64, 2)(
        numba.types.FunctionType(step_signature(dtype)),
        numba.types.FunctionType(lookahead_signature(dtype)),
        numba.types.FunctionType(_gradient_signature(dtype)),
        numba.types.boolean,
        t[::1], t[:, ::1], f64[::1], f64[::1], numba.types.int64, t[:, ::1], f64[::1],
    )


def _run(step, lookahead, gradient, at_theta, theta, S, h, c, n_steps, trajectory, etas):
    """Run up to n_steps; record θ after each step if ``trajectory`` has rows.

    Calls ``gradient(x, g)`` at θ (``at_theta``: the look-ahead is θ itself,
    so its copy is skipped) or at the look-ahead point
    ``lookahead(theta, S, h, point)``, then the packed step
    ``step(theta, g, S, h, c)``. If ``etas`` is not empty, step k uses the
    learning rate etas[k] (h[0]). Compiled once per dtype for all optimizers
    and gradients (``RUNS``); :func:`gdlib.optim.specialise.loop_for` compiles
    its source per (step, look-ahead, gradient), the first four parameters as globals.

    Returns (steps taken, status). Stops early, before updating, on a
    non-finite gradient, and after a step that made θ non-finite.
    """
    point = np.empty_like(theta)
    g = np.empty_like(theta)
    record = trajectory.shape[0] > 0
    scheduled = etas.size > 0
    if record:
        trajectory[0] = theta
    for k in range(n_steps):
        if at_theta:
            gradient(theta, g)
        else:
            lookahead(theta, S, h, point)
            gradient(point, g)
        for i in range(g.size):
            if not np.isfinite(g[i]):
                return k, Status.nonfinite_gradient
        if scheduled:
            h[ETA] = etas[k]
        step(theta, g, S, h, c)
        diverged = False
        if record:  # one pass records θ and checks it (an element-wise loop: no array view per step)
            for i in range(theta.size):
                trajectory[k + 1, i] = theta[i]
                diverged |= not np.isfinite(theta[i])
        else:
            for i in range(theta.size):
                diverged |= not np.isfinite(theta[i])
        if diverged:
            return k + 1, Status.diverged
    return n_steps, Status.ok


#: The generic run loop, one dispatcher per dtype of θ. With both signatures on one
#: dispatcher, a call converts the step and the gradient to both function types,
#: compiling each for the other dtype too (~1.5 s per optimizer, cold).
RUNS = {np.dtype(dtype): jit(_renamed_copy(_run, "_" + np.dtype(dtype).name), signatures=[_runner_signature(dtype)])
        for dtype in (np.float64, np.float32)}


class RunResult:
    """What ``run_compiled`` returns: the final θ, the state, and the path."""

    def __init__(self, theta, state, trajectory, steps, status):
        self.theta = theta
        self.state = state
        self.trajectory = trajectory
        self.steps = steps
        self.status = STATUS[status]

    def __repr__(self):
        return f"RunResult(steps={self.steps}, status={self.status!r}, theta={self.theta!r})"


def run_compiled(optimizer, gradient, theta0, n_steps, *, record=True, eta_schedule=None, specialise=False):
    """Minimize with ``optimizer`` for ``n_steps`` steps in one compiled call.

    Parameters
    ----------
    optimizer : gdlib.optim.Optimizer
    gradient : callable or None
        Numba-compiled function ``gradient(x, out)`` writing ∇J(x) into ``out``
        (1-D arrays of θ's dtype).
    theta0 : numpy.ndarray
        1-D float32 or float64 array, the start (not modified).
    n_steps : int >= 0
    record : bool
        Keep the whole trajectory, shape (n_steps + 1, d).
    eta_schedule : numpy.ndarray, optional
        A 1-D array of n_steps positive learning rates η_t for each step
        t = 1 … n_steps (replacing the optimizer's η).
    specialise : bool
        Compile the loop for this optimizer and gradient
        (:func:`gdlib.optim.specialise.loop_for`): the same results, bit for
        bit, each step faster (10^4 Adam steps on Beale ~1.4 ms → ~0.7 ms),
        but seconds of compilation for each new pair (cached on disk when
        the gradient is). Worth it only for runs of millions of steps.
    """
    _checks.float_array(theta0, "theta0")
    if theta0.ndim != 1:
        raise ValueError(f"theta0 must be 1-D for run_compiled, got shape {theta0.shape}; pass theta0.ravel()")
    _checks.whole_number(n_steps, "n_steps", low=0)
    if not isinstance(gradient, numba.core.registry.CPUDispatcher):
        raise TypeError(
            "gradient must be a Numba-compiled function gradient(x, out); decorate it with @numba.njit"
        )
    if not isinstance(specialise, bool):
        raise TypeError(f"specialise must be True or False, got {specialise!r}")
    if eta_schedule is None:
        etas = np.empty(0)
    else:
        etas = np.ascontiguousarray(eta_schedule, dtype=np.float64)
        if etas.shape != (n_steps,):
            raise ValueError(f"eta_schedule must have one learning rate per step, shape ({n_steps},); got {etas.shape}")
        if not (np.all(np.isfinite(etas)) and np.all(etas > 0)):
            raise ValueError("eta_schedule must hold finite learning rates > 0")
    theta = np.array(theta0, dtype=theta0.dtype, order="C", copy=True)
    state = optimizer.init(theta)
    rows = n_steps + 1 if record else 0
    trajectory = np.empty((rows, theta.size), dtype=theta.dtype)
    hyper = optimizer.hyper.copy()
    step, lookahead = optimizer._packed_step, optimizer._packed_lookahead
    arguments = (theta, state.buffer, hyper, state.counters, int(n_steps), trajectory, etas)
    if specialise:
        small = bool(theta.size < hyper[-1])  # below the parallel threshold
        steps, status = loop_for(_run, step, lookahead, gradient, small)(*arguments)
    else:
        steps, status = RUNS[theta.dtype](step, lookahead, gradient, lookahead is lookahead_at_theta, *arguments)
    return RunResult(theta, state, trajectory[: steps + 1] if record else None, int(steps), int(status))
