"""What runs on a Dask worker: one task per piece of work between two exchanges with the server.

Each task is a pure function of what it read from the server, its data
shard and a seed derived from (seed, worker, task number), so a task run
again after its worker died computes exactly the same result.
"""

from __future__ import annotations

import itertools

import numpy as np

from .workers import local_sgd, replica_period


def _seeded(shard, seed):
    """The shard's mini-batch gradient, drawing from a generator seeded by the task's identity."""
    rng = np.random.default_rng(seed)
    return lambda theta: shard.draw(theta, rng)


def replica_task(shard, theta, n_steps, n_push, local_eta, seed, steps_done, accrued, last):
    """A Downpour fetch period on a Dask worker: :func:`~gdlib.parallel.workers.replica_period`.

    Returns (pushed gradients, accrued gradient left to push in a later period)."""
    pushes, accrued = replica_period(_seeded(shard, seed), theta, n_steps, n_push, local_eta,
                                     steps_done=steps_done, accrued=accrued, last=last)
    return [g for _, g in pushes], accrued


def local_sgd_task(shard, x, n_steps, eta, seed):
    """An EASGD worker's period on a Dask worker: :func:`~gdlib.parallel.workers.local_sgd`."""
    return local_sgd(_seeded(shard, seed), x, n_steps, eta)


def one_gradient(shard, theta, seed):
    """One mini-batch gradient of ``shard`` at ``theta`` (a delay-tolerant AdaGrad or synchronous worker's task)."""
    return _seeded(shard, seed)(np.asarray(theta, dtype=np.float64))


def task_gradients(shards, seed=0):
    """Gradient functions that draw, call after call, the mini-batches of
    :func:`~gdlib.parallel.sync_sgd_on_dask`'s tasks: worker w's t-th call is task (seed, w, t).

    ``gdlib.parallel.sync_sgd(optimizer, task_gradients(shards, seed), ...)``
    in this process is the reference run that the cluster reproduces.
    """
    def worker(w, shard):
        steps = itertools.count()
        return lambda theta: one_gradient(shard, theta, (seed, w, next(steps)))

    return [worker(w, shard) for w, shard in enumerate(shards)]
