"""The one driver loop that runs every distributed algorithm on Dask.

An algorithm (:mod:`gdlib.parallel.cluster`) says what one worker does
between two exchanges with the server, as a small object:

* ``n_tasks[w]``: how many tasks worker w runs, one after the other;
* ``read(w, k)``: what worker w's k-th task reads from the server, called
  when the task is submitted (kept, so that a task run again reads the same);
* ``task(w, k, seen, data)``: the task, as (function, arguments), where
  ``data`` is the worker's data shard on the cluster;
* ``apply(w, k, seen, result)``: the server consumes the task's result and
  returns how many server updates it made;
* ``record(events)``: the :class:`~gdlib.parallel.server.DistributedRun` so far;
* ``synchronous``: False lets worker w's next task start as soon as its
  last one is applied (asynchronous); True starts round k + 1 of every
  worker only when all of round k has been applied (a barrier).

:class:`Driver` submits the tasks, applies their results in the order they
finish, submits again a task the cluster forgot (a worker died) with the
same inputs, sends the data shards again if their copies were lost, and
ends the run with a :class:`DistributedRunError` that carries the state so
far when a task fails, a task is lost more than ``max_resubmits`` times, or
nothing finishes within ``timeout`` seconds.

The driver only calls ``client.submit``, ``client.scatter``,
``client.scheduler_info`` and ``wait(futures, timeout=,
return_when="FIRST_COMPLETED")``, so a test can give it an in-process fake
of :class:`distributed.Client` and script completions, lost futures and
timeouts (``tests/fake_dask.py``).
"""

from __future__ import annotations

from concurrent.futures import CancelledError

from .. import _checks
from .server import whole_number


WORKER_GRACE = 5.0  # seconds a run waits for a cluster that shows no worker before it fails


class DistributedRunError(RuntimeError):
    """A distributed run that could not finish; ``partial`` is the run up to the failure."""

    def __init__(self, message, partial):
        super().__init__(message)
        self.partial = partial


def connect(client, n_workers):
    """A Client, and what the caller must close afterwards (the client made here, and its cluster).

    ``client`` is None (start a local cluster of ``n_workers`` processes), a
    scheduler address, or a connected :class:`distributed.Client`.
    """
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


class Driver:
    """Runs one algorithm's tasks on a client; :meth:`run` returns the algorithm's record.

    Parameters
    ----------
    client : distributed.Client, str or None
        A connected :class:`distributed.Client` (or a fake with the same
        ``submit``, ``scatter`` and ``scheduler_info``).
    algorithm : object
        The algorithm object (see the module's docstring); its
        ``shards`` are the data sent to the cluster, one per worker.
    timeout : float
        Seconds to wait for any task's result before giving up.
    max_resubmits : int
        How many times one task the cluster lost is submitted again.
    on_update : callable, optional
        Called as ``on_update(n_updates)`` after every server update.
    wait : callable, optional
        ``distributed.wait`` by default (a fake client brings its own).
    """

    def __init__(self, client, algorithm, *, timeout, max_resubmits, on_update=None, wait=None):
        if wait is None:
            from distributed import wait
        self.client, self.algorithm, self.wait = client, algorithm, wait
        self.timeout, self.max_resubmits, self.on_update = timeout, max_resubmits, on_update
        self.events, self.updates, self.data = [], 0, []  # data: the shards' futures on the cluster
        self.running = {}  # future → (worker, task number, what it read, resubmits so far)

    def fail(self, message):
        raise DistributedRunError(f"{message} {self.updates} updates were applied; the state so far is in "
                                  "error.partial.", self.algorithm.record(self.events))

    def workers(self):
        return set(self.client.scheduler_info()["workers"])

    def scatter(self):
        """Send every worker's data shard to the cluster, a copy on every Dask worker."""
        try:
            self.data = self.client.scatter(list(self.algorithm.shards), broadcast=True, hash=False,
                                            timeout=self.timeout)
        except TimeoutError:
            self.fail(f"could not send the data shards to any Dask worker in {self.timeout:g} s; is the "
                      "cluster alive?")

    def submit(self, w, k, seen=None, attempt=0):
        """Submit worker w's task k; it reads from the server now unless it is a resubmit (``seen``)."""
        seen = self.algorithm.read(w, k) if seen is None else seen
        if any(d.status != "finished" for d in self.data):  # a shard copy was lost with its workers
            self.scatter()
        fn, args = self.algorithm.task(w, k, seen, self.data[w])
        self.running[self.client.submit(fn, *args, pure=False)] = (w, k, seen, attempt)

    def finished(self):
        """The futures to look at now: lost ones first, else those done within ``timeout``."""
        lost = [f for f in self.running if f.status == "cancelled"]
        if lost:
            return lost
        try:
            return self.wait(list(self.running), timeout=self.timeout, return_when="FIRST_COMPLETED").done
        except CancelledError:  # a future was forgotten while we waited
            return [f for f in self.running if f.status == "cancelled"]
        except TimeoutError:
            self.fail(f"no task finished in {self.timeout:g} s ({len(self.workers())} Dask workers alive); "
                      "raise timeout= for slow workers or check the cluster.")

    def result(self, future, w, k):
        """(True, result), or (False, None) when the cluster forgot the task; a failed task ends the run."""
        if future.status == "cancelled":
            return False, None
        try:
            return True, future.result()
        except CancelledError:
            return False, None
        except Exception as exc:  # KilledWorker, or an error inside the task
            self.fail(f"worker {w}'s task {k} failed on the cluster: {type(exc).__name__}: {exc}.")

    def run(self):
        alg = self.algorithm
        before = self.workers()
        if not before and hasattr(self.client, "wait_for_workers"):
            # a worker that missed heartbeats on a loaded machine reconnects within seconds
            try:
                self.client.wait_for_workers(1, timeout=min(self.timeout, WORKER_GRACE))
            except TimeoutError:
                pass
            before = self.workers()
        if not before:
            self.fail(f"the Dask cluster at {self.client.scheduler.address} has no workers; start some "
                      "(dask worker <address>) or pass client=None for a local cluster.")
        self.scatter()
        for w, n in enumerate(alg.n_tasks):
            if n:
                self.submit(w, 0)
        while self.running:
            for future in self.finished():
                w, k, seen, attempt = self.running.pop(future)
                ok, result = self.result(future, w, k)
                if not ok:  # forgotten with its worker: again, with the same inputs
                    if attempt >= self.max_resubmits:
                        self.fail(f"worker {w}'s task {k} was lost {attempt + 1} times with its Dask worker; "
                                  "giving up.")
                    self.events.append(("task resubmitted", w, k))
                    self.submit(w, k, seen, attempt + 1)
                    continue
                for _ in range(alg.apply(w, k, seen, result)):
                    self.updates += 1
                    if self.on_update is not None:
                        self.on_update(self.updates)
                self.next_tasks(w, k)
        after = self.workers()
        if before - after:
            self.events.append(("workers lost", sorted(before - after)))
        if after - before:
            self.events.append(("workers joined", sorted(after - before)))
        return alg.record(self.events)

    def next_tasks(self, w, k):
        """After worker w's task k was applied: its task k + 1, or, at a barrier, everyone's round k + 1."""
        if not self.algorithm.synchronous:
            ready = [w]
        elif any(meta[1] == k for meta in self.running.values()):
            ready = []  # round k is not complete yet
        else:
            ready = range(len(self.algorithm.n_tasks))
        for v in ready:
            if k + 1 < self.algorithm.n_tasks[v]:
                self.submit(v, k + 1)


def run_on_dask(algorithm, *, client, n_workers, timeout, max_resubmits, on_update):
    """Connect to ``client`` (see :func:`connect`), run ``algorithm`` with a :class:`Driver`, close
    what was opened here, and return the algorithm's :class:`~gdlib.parallel.server.DistributedRun`."""
    n_workers = whole_number(n_workers, "n_workers")
    timeout = _checks.positive(timeout, "timeout")
    max_resubmits = whole_number(max_resubmits, "max_resubmits", low=0)
    client, owned = connect(client, n_workers)
    try:
        return Driver(client, algorithm, timeout=timeout, max_resubmits=max_resubmits, on_update=on_update).run()
    finally:
        for thing in owned:
            thing.close()
