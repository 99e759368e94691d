"""Grading on a Dask cluster: each submission's sandboxed grading is one Dask task.

``python -m autograde grade --scheduler tcp://host:8786`` (or
``grade_class(..., client=...)`` with a connected :class:`distributed.Client`)
sends each submission's task (:func:`autograde.engine.make_task`: the
student's answer cells and the test cells' points) to the cluster and gets
back the scores and reports; the gradebook, the feedback and the journal stay
with the grading process, which writes them alone. Workers need this course's
environment (autograde, gdlib, NumPy, Numba) and bubblewrap: before anything
is submitted, :func:`probe_workers` runs a probe on every worker (it builds and
checks that worker's sandbox) and the grader refuses to start, naming the
worker and what to install, if one cannot isolate.

A worker that dies loses no grade: its tasks are pure (fixed seeds, plain
inputs), the scheduler runs them again on another worker, and nothing reaches
the gradebook before the task's result is back with the grading process.
"""

from __future__ import annotations

import traceback
import uuid

from .engine import grade_task, local_sandbox
from .sandbox import SandboxUnavailable


def _probe(sandbox=True):
    """Run on a worker: build and check its sandbox; 'ok', or why not."""
    try:
        if sandbox:
            local_sandbox()
        return "ok"
    except SandboxUnavailable as exc:
        return str(exc)


def connect(client):
    """A connected Client and what to close afterwards: ``client`` is one, or a scheduler's address."""
    from distributed import Client

    if isinstance(client, str):
        made = Client(client, timeout="20s")
        return made, [made]
    return client, []


def probe_workers(client, sandbox=True):
    """Check every worker before grading: raises :class:`SandboxUnavailable` naming those that cannot."""
    client.wait_for_workers(1, timeout=60)
    answers = client.run(_probe, sandbox, on_error="return")
    bad = {worker: (answer if isinstance(answer, str) else f"{type(answer).__name__}: {answer}")
           for worker, answer in answers.items() if answer != "ok"}
    if bad:
        said = "; ".join(f"worker {w}: {why}" for w, why in sorted(bad.items()))
        raise SandboxUnavailable(f"not every Dask worker can grade ({said}). Every worker needs this course's "
                                 f"environment (autograde, gdlib) and bubblewrap")
    return sorted(answers)


def run_on_dask(tasks, client):
    """An iterator of (task, results or None, error or None) as each task finishes on the cluster."""
    from distributed import as_completed

    futures = {}
    for task in tasks:
        key = f"autograde-{task['assignment']}-{task['student']}-{uuid.uuid4().hex[:12]}"
        futures[client.submit(grade_task, task, key=key, pure=False, retries=1)] = task
    return _results(client, futures, as_completed)


def _results(client, futures, as_completed):
    finished = False
    try:
        for future in as_completed(list(futures)):
            task = futures[future]
            try:
                yield task, future.result(), None
            except Exception:  # the task failed on every try: not graded, nothing written
                yield task, None, traceback.format_exc(limit=3)
            future.release()
        finished = True
    finally:
        if not finished:
            client.cancel(list(futures))
