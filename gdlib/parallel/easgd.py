"""Elastic Averaging SGD (Zhang, Choromanska and LeCun, 2015).

p workers hold their own parameters x^i; a centre variable x̃ ties them
together with an elastic force of strength ρ. One round, with every worker's
gradient g^i taken at its own x^i_t::

    x^i_{t+1} = x^i_t − η ( g^i_t + ρ (x^i_t − x̃_t) )
    x̃_{t+1}  = x̃_t  + η ρ Σ_i (x^i_t − x̃_t)

Both updates use the values *before* the round (x^i_t and x̃_t). With
α = ηρ the paper writes the elastic term as α (x^i_t − x̃_t). A small ρ lets the
workers wander further from the centre: more exploration.

Communication every T local steps (the argument ``tau``) instead of every step:

* synchronous: all workers step in lockstep, and every T-th step is the
  round above; the other steps are plain local SGD;
* asynchronous (the paper's Algorithm 1): worker i, at its own local clock
  t^i, when t^i is a multiple of T, reads x̃, computes d = α (x^i − x̃),
  moves x^i ← x^i − d and x̃ ← x̃ + d in one exchange with the server; then
  it takes its gradient step x^i ← x^i − η g^i(x^i). Workers of unequal speed
  meet the centre at different moments.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .clock import Clock
from .server import DistributedRun, whole_number
from .workers import local_sgd


def easgd_round(workers, center, grads, eta, rho):
    """One synchronous EASGD round; returns new (workers, center) arrays.

    Parameters
    ----------
    workers : numpy.ndarray
        (p, d) array, one row per worker's parameters x^i_t
    center : numpy.ndarray
        (d,) array, the centre variable x̃_t
    grads : numpy.ndarray
        (p, d) array, each worker's gradient g^i_t at its own parameters
    eta, rho : float
        Learning rate η > 0 and elastic strength ρ >= 0 (with ηρp < 1
        for the centre's update to be stable).
    """
    eta = _checks.positive(eta, "eta")
    rho = _checks.non_negative(rho, "rho")
    workers = np.asarray(workers, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    grads = np.asarray(grads, dtype=np.float64)
    if workers.ndim != 2 or center.shape != workers.shape[1:] or grads.shape != workers.shape:
        raise ValueError(
            f"workers must be (p, d), center (d,) and grads (p, d); got {workers.shape}, {center.shape}, "
            f"{grads.shape}"
        )
    pull = workers - center  # x^i_t − x̃_t, before either moves
    return workers - eta * (grads + rho * pull), center + eta * rho * pull.sum(axis=0)


def easgd(gradients, theta0, n_steps, *, eta, rho, tau=1, asynchronous=False, spread=0.5, jitter=0.2, seed=0):
    """Run EASGD with one worker per gradient function; each takes ``n_steps`` local steps.

    Every worker starts at θ_0, as does the centre. Returns a
    :class:`~gdlib.parallel.server.DistributedRun` whose ``path`` is the
    centre x̃ after every change (with the simulated ``times``), and whose
    ``events`` end with the workers' final parameters, ``("workers", array)``.
    ``spread``, ``jitter`` and ``seed`` set the workers' speeds
    (:class:`~gdlib.parallel.clock.Clock`); the synchronous form ignores them.
    """
    if not gradients:
        raise ValueError("gradients must list at least one worker's gradient function")
    eta = _checks.positive(eta, "eta")
    rho = _checks.non_negative(rho, "rho")
    n_steps = whole_number(n_steps, "n_steps", low=0)
    tau = whole_number(tau, "tau")
    p = len(gradients)
    alpha = eta * rho
    if not asynchronous and p * alpha >= 1:
        raise ValueError(
            f"the centre's update is unstable when p·η·ρ >= 1 (here {p}·{eta}·{rho} = {p * alpha:.3g}); "
            "lower eta or rho"
        )
    center = np.array(theta0, dtype=np.float64).reshape(-1)
    workers = np.tile(center, (p, 1))
    times, path = [0.0], [center.copy()]
    if not asynchronous:
        for t in range(n_steps):
            grads = np.array([np.asarray(gradients[i](workers[i]), dtype=np.float64) for i in range(p)])
            if t % tau == 0:
                workers, center = easgd_round(workers, center, grads, eta, rho)
                times.append(float(t + 1))
                path.append(center.copy())
            else:
                workers -= eta * grads
        return DistributedRun(center, np.array(times), np.array(path), np.zeros(0, np.int64),
                              (n_steps + tau - 1) // tau, [("workers", workers)])
    clock = Clock(p, spread=spread, jitter=jitter, seed=seed)
    done = [0] * p
    for i in range(p):
        if n_steps:
            clock.schedule(0.0, i, "period")  # each event: worker i meets the centre, then runs τ local steps
    for now, i, _, _ in clock:
        d = alpha * (workers[i] - center)  # one exchange: both move by the same d
        workers[i] -= d
        center += d
        times.append(now)
        path.append(center.copy())
        n = min(tau, n_steps - done[i])
        workers[i] = local_sgd(gradients[i], workers[i], n, eta)
        done[i] += n
        if done[i] < n_steps:
            clock.schedule(now + sum(clock.step_time(i) for _ in range(n)), i, "period")
    return DistributedRun(center, np.array(times), np.array(path), np.zeros(0, np.int64), len(path) - 1,
                          [("workers", workers)])
