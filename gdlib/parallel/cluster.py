"""Downpour SGD for real, on Dask distributed.

The same algorithm as :func:`gdlib.parallel.downpour`, executed by worker
processes of a Dask cluster: by default a :class:`distributed.LocalCluster`
of processes on this machine, or any running cluster given by its scheduler
address (``"tcp://host:8786"``) or a connected :class:`distributed.Client`.

How the algorithm maps onto Dask:

* each replica's data shard is sent to the workers once
  (``scatter(..., broadcast=True)``: every worker holds a copy, so losing
  one worker loses no data);
* a *fetch period* of a replica (n_fetch local steps from one fetched θ) is
  one Dask task; its result is the list of accrued gradients it pushed
  (one every n_push steps). The server applies them when the task ends, so
  with Dask a push waits for the end of its fetch period;
* the parameter server, sharded as in :class:`~gdlib.parallel.server.ParameterServer`,
  lives in this (the client's) process and applies pushes as tasks finish,
  in whatever order the replicas finish them: that is the asynchrony, and
  the staleness is measured, not simulated.

Why the server is not on a worker: the server's state must survive a
worker's death. Tasks are pure functions of (θ fetched, shard, seed), so
when a worker dies Dask recomputes its tasks elsewhere and each push is
applied exactly once. If no replica reports back within ``timeout``
seconds, or Dask gives up on a task, the run stops with a
:class:`DistributedRunError` that says why and carries the server's state
so far (``error.partial``); it never hangs and never drops pushes silently.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _checks
from ..optim import Adagrad
from .server import DistributedRun, ParameterServer, ShardGradient, whole_number


class DistributedRunError(RuntimeError):
    """A distributed run that could not finish; ``partial`` is the run up to the failure."""

    def __init__(self, message, partial):
        super().__init__(message)
        self.partial = partial


def replica_period(shard, theta, n_steps, n_push, local_eta, seed):
    """One fetch period of a Downpour replica (runs on a Dask worker).

    Starting from the fetched ``theta``, take ``n_steps`` local SGD steps on
    mini-batches of ``shard`` and return the accrued gradients pushed after
    every ``n_push`` steps (and at the end of the period).
    """
    rng = np.random.default_rng(seed)
    local = np.array(theta, dtype=np.float64)
    accrued = np.zeros_like(local)
    pushes = []
    for k in range(1, n_steps + 1):
        g = shard.draw(local, rng)
        accrued += g
        local -= local_eta * g
        if k % n_push == 0 or k == n_steps:
            pushes.append(accrued.copy())
            accrued[:] = 0.0
    return pushes


def _connect(client, n_workers):
    """A Client, and what this function must close afterwards (the client it made, and its cluster)."""
    from distributed import Client, LocalCluster

    if isinstance(client, Client):
        return client, []
    if client is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        return client, [client, cluster]
    if isinstance(client, str):
        client = Client(client, timeout="20s")
        return client, [client]
    raise TypeError(f"client must be None (a local cluster), a scheduler address or a distributed.Client; "
                    f"got {type(client).__name__}")


def downpour_on_dask(shards, theta0, n_steps, *, client=None, optimizer=None, n_fetch=10, n_push=5,
                     n_shards=1, local_eta=None, seed=0, timeout=60.0, n_workers=2, on_update=None,
                     max_resubmits=3):
    """Run Downpour SGD on a Dask cluster; each replica takes ``n_steps`` local steps.

    Parameters
    ----------
    shards : list of :class:`~gdlib.parallel.server.ShardGradient`, one per
        replica (:func:`~gdlib.parallel.shard_gradients` makes them).
    theta0, optimizer, n_fetch, n_push, n_shards, local_eta : as in
        :func:`gdlib.parallel.downpour`.
    client : None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
        Remote workers need gdlib installed.
    seed : the tasks' seeds derive from it and from (replica, period).
    timeout : seconds to wait for any replica's result before giving up.
    on_update : called as ``on_update(n_updates)`` after every push is
        applied (progress reports, or a test that kills a worker mid-run).
    max_resubmits : how many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun`; ``times`` are
    seconds since the start, and ``events`` records tasks submitted again
    and workers that left or joined the cluster during the run.
    """
    from concurrent.futures import CancelledError

    from distributed import wait

    if not shards or not all(isinstance(s, ShardGradient) for s in shards):
        raise TypeError("shards must be a non-empty list of gdlib.parallel.ShardGradient (see shard_gradients)")
    n_steps = whole_number(n_steps, "n_steps", low=0)
    n_fetch = whole_number(n_fetch, "n_fetch")
    n_push = whole_number(n_push, "n_push")
    n_workers = whole_number(n_workers, "n_workers")
    timeout = _checks.positive(timeout, "timeout")
    optimizer = Adagrad(eta=0.1) if optimizer is None else optimizer
    server = ParameterServer(theta0, optimizer, n_shards)
    local_eta = _checks.positive(optimizer.eta if local_eta is None else local_eta, "local_eta")
    periods = [min(n_fetch, n_steps - a) for a in range(0, n_steps, n_fetch)]

    client, owned = _connect(client, n_workers)
    start = time.perf_counter()
    times, path, staleness, events = [0.0], [server.theta.copy()], [], []

    def partial():
        return DistributedRun(server.theta.copy(), np.array(times), np.array(path),
                              np.array(staleness, dtype=np.int64), int(server.versions.sum()), events)

    try:
        workers_before = set(client.scheduler_info()["workers"])
        if not workers_before:
            raise DistributedRunError(
                f"the Dask cluster at {client.scheduler.address} has no workers; start some "
                "(dask worker <address>) or pass client=None for a local cluster", partial())
        def scatter():
            try:
                return client.scatter(list(shards), broadcast=True, hash=False, timeout=timeout)
            except TimeoutError:
                raise DistributedRunError(
                    f"could not send the data shards to any Dask worker in {timeout:g} s; is the cluster "
                    f"alive? {int(server.versions.sum())} updates were applied; the server's state so far "
                    "is in error.partial.", partial()) from None

        data = scatter()

        def submit(r, period, fetched=None, attempt=0):
            nonlocal data
            theta, versions = server.fetch() if fetched is None else fetched
            if any(d.status != "finished" for d in data):  # a shard copy was lost with its workers
                data = scatter()
            future = client.submit(replica_period, data[r], theta, periods[period], n_push, local_eta,
                                   (seed, r, period), pure=False)
            return future, (r, period, (theta, versions), attempt)

        running = dict(submit(r, 0) for r in range(len(shards)) if periods)
        forgotten = []
        while running:
            lost = [f for f in running if f.status == "cancelled"]
            # a task the cluster forgot (its worker died) runs again, with the same inputs
            for future in lost + [f for f in forgotten if f not in lost]:
                r, period, fetched, attempt = running.pop(future)
                if attempt >= max_resubmits:
                    raise DistributedRunError(
                        f"replica {r}'s fetch period {period} was lost {attempt + 1} times with its worker; "
                        f"giving up. {int(server.versions.sum())} updates were applied; the server's state "
                        "so far is in error.partial.", partial())
                events.append(("task resubmitted", r, period))
                new, meta = submit(r, period, fetched, attempt + 1)
                running[new] = meta
            try:
                finished = wait(list(running), timeout=timeout, return_when="FIRST_COMPLETED").done
            except CancelledError:
                continue  # handled at the top of the loop
            except TimeoutError:
                alive = len(client.scheduler_info()["workers"])
                raise DistributedRunError(
                    f"no replica finished a fetch period in {timeout:g} s ({alive} Dask workers alive, "
                    f"{int(server.versions.sum())} updates applied). The server's state so far is in "
                    "error.partial; raise timeout= for slow workers or check the cluster.", partial()
                ) from None
            forgotten = []
            for future in finished:
                if future.status == "cancelled":
                    continue
                r, period, (_, versions), _ = running[future]
                try:
                    pushes = future.result()
                except CancelledError:
                    forgotten.append(future)  # submitted again at the top of the loop
                    continue
                except Exception as exc:  # KilledWorker, or an error inside the task
                    raise DistributedRunError(
                        f"replica {r}'s fetch period {period} failed on the cluster: {type(exc).__name__}: {exc}. "
                        f"{int(server.versions.sum())} updates were applied; the server's state so far is "
                        "in error.partial.", partial()
                    ) from exc
                del running[future]
                for g in pushes:
                    for k, s in enumerate(server.slices):
                        staleness.append(server.versions[k] - versions[k])
                        server.push(k, g[s])
                    times.append(time.perf_counter() - start)
                    path.append(server.theta.copy())
                    if on_update is not None:
                        on_update(int(server.versions.sum()))
                if period + 1 < len(periods):
                    future, meta = submit(r, period + 1)
                    running[future] = meta
        workers_after = set(client.scheduler_info()["workers"])
        if workers_before - workers_after:
            events.append(("workers lost", sorted(workers_before - workers_after)))
        if workers_after - workers_before:
            events.append(("workers joined", sorted(workers_after - workers_before)))
        return partial()
    finally:
        for thing in owned:
            thing.close()
