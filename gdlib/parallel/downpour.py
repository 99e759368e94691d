"""Downpour SGD (Dean et al., 2012), in the deterministic event simulator.

p model replicas each train on their own data shard. A replica keeps a
local copy θ' of the parameters and, at its k-th local step (k = 0, 1, …):

* if k is a multiple of n_fetch, fetches θ' from the parameter server;
* computes g on a mini-batch of its shard at θ', adds it to its accrued
  gradient and takes a local step θ' ← θ' − η_local g;
* after every n_push steps, pushes the accrued gradient to the server and
  resets it (and pushes what is left when it stops, so nothing is lost).

The replica's side is :func:`gdlib.parallel.workers.replica_period`, the
same function the Dask tasks run. The server is split into shards; each
applies the pushed slice with its own
optimizer state (Adagrad, as Dean et al. did) as soon as it arrives. With
message latency the shards receive the pushes at different times, so a
fetch can return a θ whose shards are at different versions: the replicas
never agree on one θ, which is both Downpour's speed and its risk.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..optim import Adagrad
from .clock import Clock
from .server import DistributedRun, ParameterServer, whole_number
from .workers import replica_period


def checked_setup(theta0, n_steps, optimizer, n_fetch, n_push, n_shards, local_eta):
    """Validated (n_steps, n_fetch, n_push, server, local_eta) of a Downpour run, simulated or on Dask."""
    n_steps = whole_number(n_steps, "n_steps", low=0)
    n_fetch = whole_number(n_fetch, "n_fetch")
    n_push = whole_number(n_push, "n_push")
    optimizer = Adagrad(eta=0.1) if optimizer is None else optimizer
    server = ParameterServer(theta0, optimizer, n_shards)
    local_eta = _checks.positive(optimizer.eta if local_eta is None else local_eta, "local_eta")
    return n_steps, n_fetch, n_push, server, local_eta


def downpour(gradients, theta0, n_steps, *, optimizer=None, n_fetch=1, n_push=1, n_shards=1,
             local_eta=None, spread=0.5, jitter=0.2, latency=0.0, seed=0):
    """Simulate Downpour SGD; every replica runs ``n_steps`` local steps.

    Parameters
    ----------
    gradients : list of callable
        List of callables, one per replica: ``gradients[r](θ)`` is a
        stochastic gradient on replica r's shard (see
        :func:`gdlib.parallel.shard_gradients`).
    theta0 : numpy.ndarray
        The initial parameters.
    optimizer : gdlib.optim.Optimizer
        The server's update rule, applied per shard (default
        ``Adagrad(eta=0.1)``).
    n_fetch, n_push : int
        Communication periods, in local steps.
    n_shards : int
        Number of parameter-server shards.
    local_eta : float, optional
        The replicas' local step size η_local between fetches; by
        default the server optimizer's η. It only matters when n_fetch > 1.
    spread, jitter, latency, seed : float, float, float, int
        The clock (:class:`gdlib.parallel.clock.Clock`).

    Returns a :class:`~gdlib.parallel.server.DistributedRun` whose path holds
    the server's θ after every update of any shard.
    """
    if not gradients:
        raise ValueError("gradients must list at least one replica's gradient function")
    n_steps, n_fetch, n_push, server, local_eta = checked_setup(theta0, n_steps, optimizer, n_fetch, n_push,
                                                                n_shards, local_eta)
    p = len(gradients)
    clock = Clock(p, spread=spread, jitter=jitter, latency=latency, seed=seed)

    done = [0] * p                         # local steps started, per replica
    accrued = [None] * p                   # accrued but not yet pushed, per replica
    times, path, staleness = [0.0], [server.theta.copy()], []

    def start_period(r, now):
        """Fetch, run the period (it never reads the server) and send its pushes when their steps end."""
        theta, versions = server.fetch()
        n = min(n_fetch, n_steps - done[r])
        ends = now + np.cumsum([clock.step_time(r) for _ in range(n)])
        pushes, accrued[r] = replica_period(gradients[r], theta, n, n_push, local_eta, steps_done=done[r],
                                           accrued=accrued[r], last=done[r] + n == n_steps)
        for k, g in pushes:
            for j, s in enumerate(server.slices):
                payload = (j, g[s], int(versions[j]))
                clock.schedule(ends[k - 1] + clock.message_time(), r, "push", payload)
        done[r] += n
        if done[r] < n_steps:  # after its own pushes at the same moment: a replica sees what it sent
            clock.schedule(ends[-1], r, "fetch")

    for r in range(p):
        if n_steps:
            start_period(r, 0.0)
    for now, r, what, payload in clock:
        if what == "fetch":
            start_period(r, now)
        else:  # a pushed slice reaches its shard
            j, g_shard, version_read = payload
            staleness.append(server.versions[j] - version_read)
            server.push(j, g_shard)
            times.append(now)
            path.append(server.theta.copy())
    return DistributedRun(server.theta.copy(), np.array(times), np.array(path),
                          np.array(staleness, dtype=np.int64), int(server.versions.sum()))
