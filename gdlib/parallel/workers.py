"""What a worker does between two exchanges with the server, once for every execution mode.

The simulator calls these with any gradient function; the Dask tasks call
them on a worker process with a shard's seeded mini-batch gradient. A
worker's local steps never read the server, so a whole period can be
computed at its start.
"""

from __future__ import annotations

import numpy as np


def replica_period(gradient, theta, n_steps, n_push, local_eta, *, steps_done=0, accrued=None, last=True):
    """One fetch period of a Downpour replica from the fetched ``theta``.

    Each local step computes g = gradient(θ'), adds it to the accrued
    gradient and steps θ' ← θ' − η_local g. The replica pushes after every
    step whose count since the start of training (``steps_done`` before this
    period, plus the steps so far) is a multiple of ``n_push``, and after the
    last step of its last period (``last``), so periods of n_fetch steps and
    pushes every n_push steps interleave as in Dean et al. ``accrued`` is the
    gradient accrued but not yet pushed when the period starts.

    Returns (pushes, accrued): the pushes as (step of this period after which
    it was pushed, accrued gradient), and what is left to push later.
    """
    local = np.array(theta, dtype=np.float64)
    accrued = np.zeros_like(local) if accrued is None else np.array(accrued, dtype=np.float64)
    pushes = []
    for k in range(1, n_steps + 1):
        g = np.asarray(gradient(local), dtype=np.float64)
        accrued += g
        local -= local_eta * g
        if (steps_done + k) % n_push == 0 or (last and k == n_steps):
            pushes.append((k, accrued.copy()))
            accrued[:] = 0.0
    return pushes, accrued


def local_sgd(gradient, x, n_steps, eta):
    """``n_steps`` plain SGD steps from ``x`` (an EASGD worker between two exchanges); returns the new x."""
    x = np.array(x, dtype=np.float64)
    for _ in range(n_steps):
        x -= eta * np.asarray(gradient(x), dtype=np.float64)
    return x
