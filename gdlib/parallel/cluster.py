"""The distributed algorithms for real, on Dask distributed.

Downpour SGD, asynchronous EASGD, delay-tolerant AdaGrad and synchronous
data-parallel SGD, the same algorithms as in the simulator, executed by the
worker processes of a Dask cluster: by default a
:class:`distributed.LocalCluster` of processes on this machine, or any
running cluster given by its scheduler address (``"tcp://host:8786"``) or a
connected :class:`distributed.Client`. Remote workers need gdlib installed.

How the algorithms map onto Dask:

* each worker's data shard is sent to the cluster once
  (``scatter(..., broadcast=True)``: every Dask worker holds a copy, so
  losing one loses no data);
* the work a worker does between two exchanges with the server is one Dask
  task (:mod:`gdlib.parallel.tasks`), a pure function of what it read from
  the server, its shard and a seed derived from (worker, task number): a
  Downpour fetch period, T local steps of EASGD, or one gradient;
* the server's state (the sharded parameter server, EASGD's centre and the
  workers' own variables, AdaptiveRevision's sums, the synchronous θ) lives
  in this, the client's, process and is updated as the tasks finish, in
  whatever order they finish: that is the asynchrony, and staleness is
  measured, not simulated.

Each algorithm is a small class (``read``, ``task``, ``apply``, ``record``)
that the one driver loop of :mod:`gdlib.parallel.driver` runs; synchronous
SGD is the same loop with a barrier between rounds.

Why the state is not on a worker: it must survive a worker's death. When a
worker dies, Dask recomputes its tasks elsewhere, or the driver submits a
task the cluster forgot again, with the same inputs; every result is
applied exactly once. If nothing reports back within ``timeout`` seconds,
or a task fails, the run stops with a :class:`DistributedRunError` that says
why and carries the state so far (``error.partial``): it never hangs and
never drops an update silently.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _checks
from .delay_tolerant import AdaptiveRevision
from .downpour import checked_setup
from .driver import DistributedRunError, run_on_dask
from .server import DistributedRun, ShardGradient, whole_number
from .tasks import local_sgd_task, one_gradient, replica_task, task_gradients

__all__ = ["DistributedRunError", "downpour_on_dask", "easgd_on_dask", "async_adagrad_on_dask", "sync_sgd_on_dask",
           "task_gradients", "Downpour", "ElasticAveraging", "DelayTolerantAdagrad", "SyncSGD"]


class _OnDask:
    """What every algorithm on Dask has: its shards, its seed, and the server's recorded path."""

    synchronous = False

    def __init__(self, shards, seed):
        if not shards or not all(isinstance(s, ShardGradient) for s in shards):
            raise TypeError("shards must be a non-empty list of gdlib.parallel.ShardGradient (see shard_gradients)")
        self.shards, self.seed = list(shards), seed
        self.times, self.path, self.staleness = [0.0], [], []

    def started(self, theta):
        """Record the initial θ (or centre); the clock starts now."""
        self.start = time.perf_counter()
        self.path.append(theta.copy())

    def recorded(self, theta):
        """Record the server's θ (or centre) after an update, with the wall-clock time since the start."""
        self.times.append(time.perf_counter() - self.start)
        self.path.append(theta.copy())

    def run(self, theta, updates, events):
        return DistributedRun(theta.copy(), np.array(self.times), np.array(self.path),
                              np.array(self.staleness, dtype=np.int64), updates, events)


class Downpour(_OnDask):
    """Downpour SGD: one task per replica and fetch period; the server applies its pushes when it ends."""

    def __init__(self, shards, theta0, n_steps, *, optimizer, n_fetch, n_push, n_shards, local_eta, seed):
        super().__init__(shards, seed)
        n_steps, self.n_fetch, self.n_push, self.server, self.local_eta = checked_setup(
            theta0, n_steps, optimizer, n_fetch, n_push, n_shards, local_eta)
        self.started(self.server.theta)
        self.periods = [min(self.n_fetch, n_steps - a) for a in range(0, n_steps, self.n_fetch)]
        self.n_tasks = [len(self.periods)] * len(self.shards)
        self.accrued = [None] * len(self.shards)  # what each replica accrued but has not pushed yet

    def read(self, w, k):
        return (*self.server.fetch(), self.accrued[w])

    def task(self, w, k, seen, data):
        theta, _, left = seen
        return replica_task, (data, theta, self.periods[k], self.n_push, self.local_eta, (self.seed, w, k),
                              k * self.n_fetch, left, k + 1 == len(self.periods))

    def apply(self, w, k, seen, result):
        (pushes, self.accrued[w]), versions, server = result, seen[1], self.server
        for g in pushes:
            for j, s in enumerate(server.slices):
                self.staleness.append(server.versions[j] - versions[j])
                server.push(j, g[s])
            self.recorded(server.theta)
        return len(pushes) * server.n_shards

    def record(self, events):
        return self.run(self.server.theta, int(self.server.versions.sum()), events)


class ElasticAveraging(_OnDask):
    """Asynchronous EASGD: the elastic exchange when a period starts, then a task of T local steps."""

    def __init__(self, shards, theta0, n_steps, *, eta, rho, tau, seed):
        super().__init__(shards, seed)
        n_steps = whole_number(n_steps, "n_steps", low=0)
        tau = whole_number(tau, "tau")
        self.eta = _checks.positive(eta, "eta")
        self.alpha = self.eta * _checks.non_negative(rho, "rho")
        self.center = np.array(theta0, dtype=np.float64).reshape(-1)
        self.started(self.center)
        self.workers = np.tile(self.center, (len(self.shards), 1))
        self.periods = [min(tau, n_steps - a) for a in range(0, n_steps, tau)]
        self.n_tasks = [len(self.periods)] * len(self.shards)

    def read(self, w, k):
        d = self.alpha * (self.workers[w] - self.center)  # the exchange, made when the period starts
        self.workers[w] -= d
        self.center[:] += d
        self.recorded(self.center)
        return self.workers[w].copy()

    def task(self, w, k, x, data):
        return local_sgd_task, (data, x, self.periods[k], self.eta, (self.seed, w, k))

    def apply(self, w, k, x, x_new):
        self.workers[w] = x_new
        return 1

    def record(self, events):
        return self.run(self.center, len(self.path) - 1, events + [("workers", self.workers.copy())])


class DelayTolerantAdagrad(_OnDask):
    """Asynchronous AdaGrad with AdaptiveRevision: one task per gradient, from a read of (θ, g^old)."""

    def __init__(self, shards, theta0, n_updates, *, eta, eps, revise, seed):
        super().__init__(shards, seed)
        n_updates = whole_number(n_updates, "n_updates", low=0)
        self.server = AdaptiveRevision(theta0, eta, eps, revise=revise)
        self.started(self.server.theta)
        p = len(self.shards)
        self.n_tasks = [n_updates // p + (w < n_updates % p) for w in range(p)]

    def read(self, w, k):
        theta, g_old = self.server.read()
        return theta, g_old, self.server.t

    def task(self, w, k, seen, data):
        return one_gradient, (data, seen[0], (self.seed, w, k))

    def apply(self, w, k, seen, g):
        self.staleness.append(self.server.t - seen[2])
        self.server.update(g, seen[1])
        self.recorded(self.server.theta)
        return 1

    def record(self, events):
        return self.run(self.server.theta, self.server.t, events)


class SyncSGD(_OnDask):
    """Synchronous data-parallel SGD: rounds of one gradient per worker at the same θ, then one step."""

    synchronous = True

    def __init__(self, shards, theta0, n_steps, *, optimizer, seed):
        super().__init__(shards, seed)
        n_steps = whole_number(n_steps, "n_steps", low=0)
        if not hasattr(optimizer, "init") or not hasattr(optimizer, "step"):
            raise TypeError(f"optimizer must be a gdlib optimizer such as gdlib.SGD(eta=0.1), got {optimizer!r}")
        self.optimizer, self.theta = optimizer, np.array(theta0, dtype=np.float64).reshape(-1)
        self.state = optimizer.init(self.theta)
        self.started(self.theta)
        self.n_tasks = [n_steps] * len(self.shards)
        self.gradients = [None] * len(self.shards)  # this round's, by worker

    def read(self, w, k):
        return np.array(self.optimizer.lookahead(self.theta, self.state))  # the same point for every worker

    def task(self, w, k, point, data):
        return one_gradient, (data, point, (self.seed, w, k))

    def apply(self, w, k, point, g):
        self.gradients[w] = g
        if any(x is None for x in self.gradients):
            return 0  # the round waits for every worker
        self.optimizer.step(self.theta, np.mean(self.gradients, axis=0), self.state)
        self.gradients = [None] * len(self.shards)
        self.recorded(self.theta)
        return 1

    def record(self, events):
        return self.run(self.theta, len(self.path) - 1, events)


# ------------------------------------------------------------ the public functions
def downpour_on_dask(shards, theta0, n_steps, *, client=None, optimizer=None, n_fetch=10, n_push=5,
                     n_shards=1, local_eta=None, seed=0, timeout=60.0, n_workers=2, on_update=None,
                     max_resubmits=3):
    """Downpour SGD on a Dask cluster; each replica takes ``n_steps`` local steps.

    One task per replica and fetch period (:func:`~gdlib.parallel.tasks.replica_task`);
    the server applies the period's pushes when the task ends, so with Dask
    a push waits for the end of its fetch period.

    Parameters
    ----------
    shards : list of gdlib.parallel.server.ShardGradient
        List of :class:`~gdlib.parallel.server.ShardGradient`, one per
        replica (:func:`~gdlib.parallel.shard_gradients` makes them).
    theta0, optimizer, n_fetch, n_push, n_shards, local_eta
        As in :func:`gdlib.parallel.downpour`.
    client : distributed.Client, str or None
        None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
    seed : int
        The tasks' seeds derive from it and from (replica, fetch period).
    timeout : float
        Seconds to wait for any task's result before giving up.
    n_workers : int
        The number of worker processes of the local cluster started
        when ``client`` is None.
    on_update : callable, optional
        Called as ``on_update(n_updates)`` after every update of a
        server shard (progress reports, or a test that kills a worker mid-run).
    max_resubmits : int
        How many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun`: the server's θ
    after every push (``times`` in seconds since the call), the staleness of
    every pushed slice, ``updates`` = pushes × server shards, and ``events``
    that record tasks submitted again, ``("task resubmitted", replica,
    period)``, and workers that left or joined the cluster during the run.
    Raises :class:`DistributedRunError` (with ``partial``) when the run
    cannot finish.
    """
    algorithm = Downpour(shards, theta0, n_steps, optimizer=optimizer, n_fetch=n_fetch, n_push=n_push,
                         n_shards=n_shards, local_eta=local_eta, seed=seed)
    return run_on_dask(algorithm, client=client, n_workers=n_workers, timeout=timeout,
                       max_resubmits=max_resubmits, on_update=on_update)


def easgd_on_dask(shards, theta0, n_steps, *, eta, rho, tau=4, client=None, seed=0, timeout=60.0, n_workers=2,
                  on_update=None, max_resubmits=3):
    """Asynchronous EASGD on a Dask cluster; each worker takes ``n_steps`` local steps.

    Worker i's variable x^i and the centre x̃ live in the driver. Before each
    of its periods the driver makes the elastic exchange
    d = α (x^i − x̃), x^i ← x^i − d, x̃ ← x̃ + d (α = ηρ), then a task runs T
    local SGD steps from x^i (:func:`~gdlib.parallel.tasks.local_sgd_task`)
    and its result becomes the new x^i.

    Parameters
    ----------
    shards : list of gdlib.parallel.server.ShardGradient
        List of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    theta0 : numpy.ndarray
        Where every worker and the centre start.
    eta, rho, tau : float, float, int
        Learning rate η, elastic strength ρ, communication period T (in local steps).
    client : distributed.Client, str or None
        None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
    seed : int
        The tasks' seeds derive from it and from (worker, period).
    timeout : float
        Seconds to wait for any task's result before giving up.
    n_workers : int
        The number of worker processes of the local cluster started
        when ``client`` is None.
    on_update : callable, optional
        Called as ``on_update(n_updates)`` after every period a
        worker finished (progress reports, or a test that kills a worker mid-run).
    max_resubmits : int
        How many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun` whose ``path``
    is the centre after every exchange (``times`` in seconds since the call)
    and ``updates`` the number of exchanges. Its ``events`` record tasks
    submitted again, ``("task resubmitted", worker, period)``, and workers
    that left or joined the cluster during the run, and end with the
    workers' final parameters, ``("workers", array)``. Raises
    :class:`DistributedRunError` (with ``partial``) when the run cannot finish.
    """
    algorithm = ElasticAveraging(shards, theta0, n_steps, eta=eta, rho=rho, tau=tau, seed=seed)
    return run_on_dask(algorithm, client=client, n_workers=n_workers, timeout=timeout,
                       max_resubmits=max_resubmits, on_update=on_update)


def async_adagrad_on_dask(shards, theta0, n_updates, *, eta, eps=1e-8, revise=True, client=None, seed=0,
                          timeout=60.0, n_workers=2, on_update=None, max_resubmits=3):
    """Asynchronous AdaGrad on a Dask cluster, with (default) or without AdaptiveRevision.

    Each worker repeatedly reads (θ, g^old) from the server, computes one
    mini-batch gradient of its shard at θ (:func:`~gdlib.parallel.tasks.one_gradient`)
    and sends it back; the server applies :meth:`AdaptiveRevision.update`.
    Each of the p workers computes ``n_updates // p`` gradients (the first
    ones one more when p does not divide ``n_updates``).

    Parameters
    ----------
    shards : list of gdlib.parallel.server.ShardGradient
        List of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    theta0 : numpy.ndarray
        The initial parameters.
    eta, eps, revise : float, float, bool
        As in :class:`~gdlib.parallel.AdaptiveRevision`.
    client : distributed.Client, str or None
        None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
    seed : int
        The tasks' seeds derive from it and from (worker, gradient number).
    timeout : float
        Seconds to wait for any task's result before giving up.
    n_workers : int
        The number of worker processes of the local cluster started
        when ``client`` is None.
    on_update : callable, optional
        Called as ``on_update(n_updates)`` after every server update
        (progress reports, or a test that kills a worker mid-run).
    max_resubmits : int
        How many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun`: θ after every
    update (``times`` in seconds since the call), ``staleness`` the number
    of updates between each gradient's read and its write, and ``events``
    that record tasks submitted again, ``("task resubmitted", worker,
    gradient number)``, and workers that left or joined the cluster during
    the run. Raises :class:`DistributedRunError` (with ``partial``) when the
    run cannot finish.
    """
    algorithm = DelayTolerantAdagrad(shards, theta0, n_updates, eta=eta, eps=eps, revise=revise, seed=seed)
    return run_on_dask(algorithm, client=client, n_workers=n_workers, timeout=timeout,
                       max_resubmits=max_resubmits, on_update=on_update)


def sync_sgd_on_dask(shards, theta0, n_steps, *, optimizer, client=None, seed=0, timeout=60.0, n_workers=2,
                     on_update=None, max_resubmits=3):
    """Synchronous data-parallel SGD on a Dask cluster, the baseline.

    Every step, each of the p workers computes one mini-batch gradient of
    its shard at the same θ (:func:`~gdlib.parallel.tasks.one_gradient`,
    seeded by (seed, worker, step)); the driver waits for all of them,
    averages them in worker order and takes one step of ``optimizer``.
    Nothing depends on timing, so the run is reproducible: it equals
    :func:`gdlib.parallel.sync_sgd` fed :func:`task_gradients` ``(shards,
    seed)``, bit for bit, on any cluster, also when a worker dies mid-run.

    Parameters
    ----------
    shards : list of gdlib.parallel.server.ShardGradient
        List of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    theta0 : numpy.ndarray
        The initial parameters.
    optimizer : gdlib.optim.Optimizer
        Any gdlib optimizer (Nesterov's gradients are taken at its
        look-ahead point, as in :func:`gdlib.parallel.sync_sgd`).
    client : distributed.Client, str or None
        None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
    seed : int
        The tasks' seeds derive from it and from (worker, step).
    timeout : float
        Seconds to wait for any task's result before giving up.
    n_workers : int
        The number of worker processes of the local cluster started
        when ``client`` is None.
    on_update : callable, optional
        Called as ``on_update(n_updates)`` after every step
        (progress reports, or a test that kills a worker mid-run).
    max_resubmits : int
        How many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun`: θ after every
    step (``times`` in seconds since the call), ``updates`` the number of
    steps, and ``events`` that record tasks submitted again, ``("task
    resubmitted", worker, step)``, and workers that left or joined the
    cluster during the run. Raises :class:`DistributedRunError` (with
    ``partial``) when the run cannot finish.
    """
    algorithm = SyncSGD(shards, theta0, n_steps, optimizer=optimizer, seed=seed)
    return run_on_dask(algorithm, client=client, n_workers=n_workers, timeout=timeout,
                       max_resubmits=max_resubmits, on_update=on_update)
