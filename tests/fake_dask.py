"""An in-process stand-in for ``distributed.Client`` and its futures, scripted by the test.

:class:`FakeClient` offers what :class:`gdlib.parallel.driver.Driver` calls
(``submit``, ``scatter``, ``scheduler_info``, ``scheduler.address`` and a
``wait`` to pass as the driver's ``wait``). Nothing runs until ``wait``: each
call to it takes the next step of the script, or, once the script is
spent, finishes one pending future (``pick`` chooses which; the oldest by
default) by running its function here, in this process. Steps:

* :func:`finish`, :func:`lose`, :func:`lose_while_waiting`, :func:`fail`,
  :func:`time_out`: what this ``wait`` returns or raises;
* :func:`drop_data`, :func:`set_workers`: something that happens on the
  cluster before the next step (they take no ``wait`` of their own).

A step that names a task waits for it: until that task is pending, each
``wait`` finishes the task ``pick`` chooses instead.

A future is named by its task's (worker, task number), read from the seed
``(seed, worker, task number)`` that every gdlib task takes. ``log`` lists
("submit" | "finish" | "lose", name) in the order they happened.
"""

from __future__ import annotations

from collections import deque, namedtuple
from concurrent.futures import CancelledError
from types import SimpleNamespace

Done = namedtuple("Done", "done not_done")


class FakeFuture:
    def __init__(self, fn=None, args=(), *, value=None, status="pending"):
        self.fn, self.args, self.value, self.status, self.error = fn, args, value, status, None
        self.name = next(((a[1], a[2]) for a in args if isinstance(a, tuple) and len(a) == 3), None)

    def run(self):
        self.value = self.fn(*[a.value if isinstance(a, FakeFuture) else a for a in self.args])
        self.status = "finished"

    def result(self):
        if self.status == "cancelled":
            raise CancelledError(self.name)
        if self.status == "error":
            raise self.error
        return self.value


def oldest(pending):
    return pending[0]


def newest(pending):
    return pending[-1]


class FakeClient:
    def __init__(self, workers=("tcp://fake:1", "tcp://fake:2"), script=(), pick=oldest):
        self.workers, self.script, self.pick = list(workers), deque(script), pick
        self.scheduler = SimpleNamespace(address="fake://scheduler")
        self.submitted, self.scattered, self.log = [], [], []
        self.scatter_fails = False

    def scheduler_info(self):
        return {"workers": {address: {} for address in self.workers}}

    def scatter(self, data, broadcast=False, hash=True, timeout=None):
        if self.scatter_fails:
            raise TimeoutError("fake: no worker took the data")
        futures = [FakeFuture(value=d, status="finished") for d in data]
        self.scattered.append(futures)
        return futures

    def submit(self, fn, *args, pure=True):
        future = FakeFuture(fn, args)
        self.submitted.append(future)
        self.log.append(("submit", future.name))
        return future

    def wait(self, futures, timeout=None, return_when="ALL_COMPLETED"):
        assert return_when == "FIRST_COMPLETED"
        pending = [f for f in self.submitted if f in set(futures) and f.status == "pending"]
        assert pending, "wait() on no pending future"
        while True:
            step = self.script.popleft() if self.script else finish()
            try:
                done = step(self, pending)
            except NotYet:  # the step names a task not submitted yet: another task finishes first
                self.script.appendleft(step)
                done = finish()(self, pending)
            if done is not None:
                return Done(set(done), {f for f in futures if f not in done})

    def find(self, pending, name):
        if name is None:
            return self.pick(pending)
        matches = [f for f in pending if f.name == name]
        if not matches:
            raise NotYet(name)
        return matches[0]


class NotYet(Exception):
    """A step names a task that is not pending yet."""


# ------------------------------------------------------------------ the steps
def finish(name=None):
    """Task ``name`` (worker, task number), or the one ``pick`` chooses, runs and finishes."""
    def step(client, pending):
        future = client.find(pending, name)
        future.run()
        client.log.append(("finish", future.name))
        return [future]
    return step


def lose(name=None):
    """The cluster forgets task ``name`` (its worker died): the future is cancelled."""
    def step(client, pending):
        future = client.find(pending, name)
        future.status = "cancelled"
        client.log.append(("lose", future.name))
        return [future]
    return step


def lose_while_waiting(name=None):
    """As :func:`lose`, but ``wait`` raises CancelledError, as ``distributed.wait`` does."""
    def step(client, pending):
        lose(name)(client, pending)
        raise CancelledError()
    return step


def fail(name=None, error=ValueError("boom")):
    """Task ``name`` raises ``error`` on the cluster."""
    def step(client, pending):
        future = client.find(pending, name)
        future.status, future.error = "error", error
        return [future]
    return step


def time_out():
    """Nothing finishes within the timeout."""
    def step(client, pending):
        raise TimeoutError()
    return step


def drop_data():
    """Every copy of the data shards is lost (then the next step runs)."""
    def step(client, pending):
        for future in client.scattered[-1]:
            future.status = "lost"
    return step


def set_workers(addresses):
    """The cluster's workers are now ``addresses`` (then the next step runs)."""
    def step(client, pending):
        client.workers = list(addresses)
    return step
