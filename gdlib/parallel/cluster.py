"""The distributed algorithms for real, on Dask distributed.

Downpour SGD, asynchronous EASGD and delay-tolerant AdaGrad, the same
algorithms as in the simulator, executed by the worker processes of a Dask
cluster: by default a :class:`distributed.LocalCluster` of processes on this
machine, or any running cluster given by its scheduler address
(``"tcp://host:8786"``) or a connected :class:`distributed.Client`. Remote
workers need gdlib installed.

How the algorithms map onto Dask:

* each worker's data shard is sent to the cluster once
  (``scatter(..., broadcast=True)``: every Dask worker holds a copy, so
  losing one loses no data);
* the work a worker does between two exchanges with the server is one Dask
  task, a pure function of what it read from the server, its shard and a
  seed derived from (worker, task number): a Downpour fetch period, τ local
  steps of EASGD, or one AdaGrad gradient;
* the server's state (the sharded parameter server, EASGD's centre and the
  workers' own variables, AdaptiveRevision's sums) lives in this, the
  client's, process and is updated as the tasks finish, in whatever order
  they finish: that is the asynchrony, and staleness is measured, not
  simulated.

Why the state is not on a worker: it must survive a worker's death. When a
worker dies, Dask recomputes its tasks elsewhere, or the driver submits a
task the cluster forgot again, with the same inputs; every result is
applied exactly once. If nothing reports back within ``timeout`` seconds,
or a task fails, the run stops with a :class:`DistributedRunError` that says
why and carries the state so far (``error.partial``): it never hangs and
never drops an update silently.
"""

from __future__ import annotations

import itertools
import time
from concurrent.futures import CancelledError

import numpy as np

from .. import _checks
from .delay_tolerant import AdaptiveRevision
from .downpour import checked_setup
from .server import DistributedRun, ShardGradient, whole_number
from .workers import local_sgd, replica_period


class DistributedRunError(RuntimeError):
    """A distributed run that could not finish; ``partial`` is the run up to the failure."""

    def __init__(self, message, partial):
        super().__init__(message)
        self.partial = partial


# ------------------------------------------------------------ worker tasks
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


def task_gradients(shards, seed=0):
    """Gradient functions that draw, call after call, the mini-batches of
    :func:`sync_sgd_on_dask`'s tasks: worker w's t-th call is task (seed, w, t).

    ``gdlib.parallel.sync_sgd(optimizer, task_gradients(shards, seed), ...)``
    in this process is the reference run that the cluster reproduces.
    """
    def worker(w, shard):
        steps = itertools.count()
        return lambda theta: one_gradient(shard, theta, (seed, w, next(steps)))

    return [worker(w, shard) for w, shard in enumerate(shards)]


def one_gradient(shard, theta, seed):
    """One mini-batch gradient of ``shard`` at ``theta`` (a delay-tolerant AdaGrad worker's task)."""
    return _seeded(shard, seed)(np.asarray(theta, dtype=np.float64))


# ------------------------------------------------------------------ driver
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


def _check_shards(shards):
    if not shards or not all(isinstance(s, ShardGradient) for s in shards):
        raise TypeError("shards must be a non-empty list of gdlib.parallel.ShardGradient (see shard_gradients)")


def _flat(call):
    fn, args = call
    return (fn, *args)


class _Driver:
    """Runs each worker's sequence of tasks asynchronously and survives lost workers.

    ``read(w, k)`` is called when worker w's k-th task is submitted and
    returns what the task reads from the server (kept, so that a task run
    again reads the same); ``task(w, k, read, data)`` returns (function,
    arguments); ``apply(w, k, read, result)`` consumes the result and returns
    the number of server updates it made. ``n_tasks[w]`` tasks per worker.
    """

    def __init__(self, client, shards, timeout, max_resubmits, on_update, record):
        self.client, self.shards, self.timeout = client, list(shards), timeout
        self.max_resubmits, self.on_update, self.record = max_resubmits, on_update, record
        self.events, self.updates = [], 0

    def fail(self, message):
        raise DistributedRunError(f"{message} {self.updates} updates were applied; the state so far is in "
                                  "error.partial.", self.record())

    def scatter(self):
        try:
            return self.client.scatter(self.shards, broadcast=True, hash=False, timeout=self.timeout)
        except TimeoutError:
            self.fail(f"could not send the data shards to any Dask worker in {self.timeout:g} s; is the "
                      "cluster alive?")

    def start(self):
        """Check that the cluster has workers, send them the shards; return the workers' addresses."""
        workers = set(self.client.scheduler_info()["workers"])
        if not workers:
            self.fail(f"the Dask cluster at {self.client.scheduler.address} has no workers; start some "
                      "(dask worker <address>) or pass client=None for a local cluster.")
        self.data = self.scatter()
        return workers

    def round(self, calls):
        """Run ``calls[w]()`` → (function, arguments) for every worker w at once; wait for all results.

        The synchronous algorithms' barrier: a lost task is submitted again (same inputs), a failure or
        ``timeout`` seconds without progress end the run with a clear error.
        """
        from distributed import wait

        attempts = [0] * len(calls)
        futures = {self.client.submit(*_flat(calls[w]()), pure=False): w for w in range(len(calls))}
        results = [None] * len(calls)
        while futures:
            try:
                done = wait(list(futures), timeout=self.timeout, return_when="FIRST_COMPLETED").done
            except CancelledError:
                done = [f for f in futures if f.status == "cancelled"]
            except TimeoutError:
                self.fail(f"a synchronous step waited {self.timeout:g} s for its workers ("
                          f"{len(self.client.scheduler_info()['workers'])} Dask workers alive).")
            for future in done:
                w = futures.pop(future)
                try:
                    results[w] = future.result()
                except CancelledError:  # forgotten with its worker: again, with the same inputs
                    attempts[w] += 1
                    if attempts[w] > self.max_resubmits:
                        self.fail(f"worker {w}'s gradient was lost {attempts[w]} times; giving up.")
                    self.events.append(("task resubmitted", w, attempts[w]))
                    if any(d.status != "finished" for d in self.data):
                        self.data = self.scatter()
                    futures[self.client.submit(*_flat(calls[w]()), pure=False)] = w
                except Exception as exc:
                    self.fail(f"worker {w}'s gradient failed on the cluster: {type(exc).__name__}: {exc}.")
        return results

    def run(self, n_tasks, read, task, apply):
        from distributed import wait

        workers_before = self.start()

        def submit(w, k, seen=None, attempt=0):
            seen = read(w, k) if seen is None else seen
            if any(d.status != "finished" for d in self.data):  # a shard copy was lost with its workers
                self.data = self.scatter()
            fn, args = task(w, k, seen, self.data[w])
            return self.client.submit(fn, *args, pure=False), (w, k, seen, attempt)

        running = dict(submit(w, 0) for w in range(len(n_tasks)) if n_tasks[w])
        forgotten = []
        while running:
            # a task the cluster forgot (its worker died) runs again, with the same inputs
            for future in [f for f in running if f.status == "cancelled"] + forgotten:
                if future not in running:
                    continue
                w, k, seen, attempt = running.pop(future)
                if attempt >= self.max_resubmits:
                    self.fail(f"worker {w}'s task {k} was lost {attempt + 1} times with its Dask worker; "
                              "giving up.")
                self.events.append(("task resubmitted", w, k))
                new, meta = submit(w, k, seen, attempt + 1)
                running[new] = meta
            try:
                finished = wait(list(running), timeout=self.timeout, return_when="FIRST_COMPLETED").done
            except CancelledError:
                forgotten = []
                continue  # handled at the top of the loop
            except TimeoutError:
                alive = len(self.client.scheduler_info()["workers"])
                self.fail(f"no task finished in {self.timeout:g} s ({alive} Dask workers alive); raise "
                          "timeout= for slow workers or check the cluster.")
            forgotten = []
            for future in finished:
                if future.status == "cancelled":
                    continue
                w, k, seen, _ = running[future]
                try:
                    result = future.result()
                except CancelledError:
                    forgotten.append(future)
                    continue
                except Exception as exc:  # KilledWorker, or an error inside the task
                    self.fail(f"worker {w}'s task {k} failed on the cluster: {type(exc).__name__}: {exc}.")
                del running[future]
                for _ in range(apply(w, k, seen, result)):
                    self.updates += 1
                    if self.on_update is not None:
                        self.on_update(self.updates)
                if k + 1 < n_tasks[w]:
                    new, meta = submit(w, k + 1)
                    running[new] = meta
        workers_after = set(self.client.scheduler_info()["workers"])
        if workers_before - workers_after:
            self.events.append(("workers lost", sorted(workers_before - workers_after)))
        if workers_after - workers_before:
            self.events.append(("workers joined", sorted(workers_after - workers_before)))


def _run(client, n_workers, shards, timeout, max_resubmits, on_update, record, body):
    """Connect, run ``body(driver)``, return ``record(events)``; close what was opened here."""
    n_workers = whole_number(n_workers, "n_workers")
    timeout = _checks.positive(timeout, "timeout")
    max_resubmits = whole_number(max_resubmits, "max_resubmits", low=0)
    client, owned = _connect(client, n_workers)
    try:
        driver = _Driver(client, shards, timeout, max_resubmits, on_update, lambda: record(driver.events))
        body(driver)
        return record(driver.events)
    finally:
        for thing in owned:
            thing.close()


_COMMON = """
    client : None (start a local cluster of ``n_workers`` processes, closed at
        the end), a scheduler address, or a connected ``distributed.Client``.
    seed : the tasks' seeds derive from it and from (worker, task number).
    timeout : seconds to wait for any task's result before giving up.
    on_update : called as ``on_update(n_updates)`` after every server update
        (progress reports, or a test that kills a worker mid-run).
    max_resubmits : how many times a task the cluster lost is submitted again.

    Returns a :class:`~gdlib.parallel.server.DistributedRun`; ``times`` are
    seconds since the start, and ``events`` records tasks submitted again
    and workers that left or joined the cluster during the run."""


# ---------------------------------------------------------------- Downpour
def downpour_on_dask(shards, theta0, n_steps, *, client=None, optimizer=None, n_fetch=10, n_push=5,
                     n_shards=1, local_eta=None, seed=0, timeout=60.0, n_workers=2, on_update=None,
                     max_resubmits=3):
    """Downpour SGD on a Dask cluster; each replica takes ``n_steps`` local steps.

    One task per replica and fetch period (:func:`replica_task`); the
    server applies the period's pushes when the task ends, so with Dask a
    push waits for the end of its fetch period.

    Parameters
    ----------
    shards : list of :class:`~gdlib.parallel.server.ShardGradient`, one per
        replica (:func:`~gdlib.parallel.shard_gradients` makes them).
    theta0, optimizer, n_fetch, n_push, n_shards, local_eta : as in
        :func:`gdlib.parallel.downpour`.
    """
    _check_shards(shards)
    n_steps, n_fetch, n_push, server, local_eta = checked_setup(theta0, n_steps, optimizer, n_fetch, n_push,
                                                                n_shards, local_eta)
    periods = [min(n_fetch, n_steps - a) for a in range(0, n_steps, n_fetch)]
    start = time.perf_counter()
    times, path, staleness = [0.0], [server.theta.copy()], []

    def record(events):
        return DistributedRun(server.theta.copy(), np.array(times), np.array(path),
                              np.array(staleness, dtype=np.int64), int(server.versions.sum()), events)

    accrued = [None] * len(shards)  # what each replica accrued but has not pushed yet

    def read(w, k):
        return (*server.fetch(), accrued[w])

    def task(w, k, seen, data):
        theta, _, left = seen
        return replica_task, (data, theta, periods[k], n_push, local_eta, (seed, w, k), k * n_fetch, left,
                              k + 1 == len(periods))

    def apply(w, k, seen, result):
        (pushes, accrued[w]), versions = result, seen[1]
        for g in pushes:
            for j, s in enumerate(server.slices):
                staleness.append(server.versions[j] - versions[j])
                server.push(j, g[s])
            times.append(time.perf_counter() - start)
            path.append(server.theta.copy())
        return len(pushes) * server.n_shards

    return _run(client, n_workers, shards, timeout, max_resubmits, on_update, record,
                lambda driver: driver.run([len(periods)] * len(shards), read, task, apply))


downpour_on_dask.__doc__ += _COMMON


# ------------------------------------------------------------------- EASGD
def easgd_on_dask(shards, theta0, n_steps, *, eta, rho, tau=4, client=None, seed=0, timeout=60.0, n_workers=2,
                  on_update=None, max_resubmits=3):
    """Asynchronous EASGD on a Dask cluster; each worker takes ``n_steps`` local steps.

    Worker i's variable x^i and the centre x̃ live in the driver. Before each
    of its periods the driver makes the elastic exchange
    d = α (x^i − x̃), x^i ← x^i − d, x̃ ← x̃ + d (α = ηρ), then a task runs τ
    local SGD steps from x^i (:func:`local_sgd_task`) and its result becomes the
    new x^i. ``path`` records the centre after every exchange.

    Parameters
    ----------
    shards : list of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    eta, rho, tau : learning rate η, elastic strength ρ, communication period τ.
    """
    _check_shards(shards)
    n_steps = whole_number(n_steps, "n_steps", low=0)
    tau = whole_number(tau, "tau")
    eta = _checks.positive(eta, "eta")
    rho = _checks.non_negative(rho, "rho")
    alpha = eta * rho
    center = np.array(theta0, dtype=np.float64).reshape(-1)
    workers = np.tile(center, (len(shards), 1))
    periods = [min(tau, n_steps - a) for a in range(0, n_steps, tau)]
    start = time.perf_counter()
    times, path = [0.0], [center.copy()]

    def record(events):
        return DistributedRun(center.copy(), np.array(times), np.array(path), np.zeros(0, np.int64),
                              len(path) - 1, events + [("workers", workers.copy())])

    def read(w, k):
        d = alpha * (workers[w] - center)  # the exchange, made when the period starts
        workers[w] -= d
        center[:] += d
        times.append(time.perf_counter() - start)
        path.append(center.copy())
        return workers[w].copy()

    def task(w, k, x, data):
        return local_sgd_task, (data, x, periods[k], eta, (seed, w, k))

    def apply(w, k, x, x_new):
        workers[w] = x_new
        return 1

    return _run(client, n_workers, shards, timeout, max_resubmits, on_update, record,
                lambda driver: driver.run([len(periods)] * len(shards), read, task, apply))


easgd_on_dask.__doc__ += _COMMON


# ------------------------------------------------- delay-tolerant AdaGrad
def async_adagrad_on_dask(shards, theta0, n_updates, *, eta, eps=1e-8, revise=True, client=None, seed=0,
                          timeout=60.0, n_workers=2, on_update=None, max_resubmits=3):
    """Asynchronous AdaGrad on a Dask cluster, with (default) or without AdaptiveRevision.

    Each worker repeatedly reads (θ, g^old) from the server, computes one
    mini-batch gradient of its shard at θ (:func:`one_gradient`) and sends
    it back; the server applies :meth:`AdaptiveRevision.update`. Each of the
    p workers computes ``n_updates // p`` gradients (the first ones one more
    when p does not divide ``n_updates``). ``staleness`` is the number of
    updates between each gradient's read and its write.

    Parameters
    ----------
    shards : list of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    eta, eps, revise : as in :class:`~gdlib.parallel.AdaptiveRevision`.
    """
    _check_shards(shards)
    n_updates = whole_number(n_updates, "n_updates", low=0)
    server = AdaptiveRevision(theta0, eta, eps, revise=revise)
    p = len(shards)
    n_tasks = [n_updates // p + (w < n_updates % p) for w in range(p)]
    start = time.perf_counter()
    times, path, staleness = [0.0], [server.theta.copy()], []

    def record(events):
        return DistributedRun(server.theta.copy(), np.array(times), np.array(path),
                              np.array(staleness, dtype=np.int64), server.t, events)

    def read(w, k):
        theta, g_old = server.read()
        return theta, g_old, server.t

    def task(w, k, seen, data):
        return one_gradient, (data, seen[0], (seed, w, k))

    def apply(w, k, seen, g):
        staleness.append(server.t - seen[2])
        server.update(g, seen[1])
        times.append(time.perf_counter() - start)
        path.append(server.theta.copy())
        return 1

    return _run(client, n_workers, shards, timeout, max_resubmits, on_update, record,
                lambda driver: driver.run(n_tasks, read, task, apply))


async_adagrad_on_dask.__doc__ += _COMMON


# ------------------------------------------- synchronous data-parallel SGD
def sync_sgd_on_dask(shards, theta0, n_steps, *, optimizer, client=None, seed=0, timeout=60.0, n_workers=2,
                     on_update=None, max_resubmits=3):
    """Synchronous data-parallel SGD on a Dask cluster, the baseline.

    Every step, each of the p workers computes one mini-batch gradient of
    its shard at the same θ (:func:`one_gradient`, seeded by (seed, worker,
    step)); the driver waits for all of them, averages them and takes one
    step of ``optimizer``. Nothing depends on timing, so the run is
    reproducible: it equals :func:`gdlib.parallel.sync_sgd` with the same
    gradients, bit for bit, on any cluster.

    Parameters
    ----------
    shards : list of :class:`~gdlib.parallel.server.ShardGradient`, one per worker.
    optimizer : any gdlib optimizer.
    """
    _check_shards(shards)
    n_steps = whole_number(n_steps, "n_steps", low=0)
    if not hasattr(optimizer, "init") or not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a gdlib optimizer such as gdlib.SGD(eta=0.1), got {optimizer!r}")
    theta = np.array(theta0, dtype=np.float64).reshape(-1)
    state = optimizer.init(theta)
    start = time.perf_counter()
    times, path = [0.0], [theta.copy()]

    def record(events):
        return DistributedRun(theta.copy(), np.array(times), np.array(path), np.zeros(0, np.int64), len(path) - 1,
                              events)

    def steps(driver):
        driver.start()
        for t in range(n_steps):
            point = optimizer.lookahead(theta, state)
            calls = [lambda w=w: (one_gradient, (driver.data[w], point, (seed, w, t))) for w in range(len(shards))]
            g = np.mean(driver.round(calls), axis=0)
            optimizer.step(theta, g, state)
            times.append(time.perf_counter() - start)
            path.append(theta.copy())
            driver.updates += 1
            if on_update is not None:
                on_update(driver.updates)

    return _run(client, n_workers, shards, timeout, max_resubmits, on_update, record, steps)


sync_sgd_on_dask.__doc__ += _COMMON
