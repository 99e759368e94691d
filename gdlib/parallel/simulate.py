"""A deterministic simulator of asynchronous SGD with an explicit delay model.

Real asynchronous workers apply gradients computed from parameters that are
already out of date. The simulator makes that staleness explicit and
reproducible: the gradient applied at step t was computed at θ_{t−1−τ_t},
where the delay τ_t is a constant or drawn uniformly from 0 … τ_max with a
seed (and never reaches before θ_0). With τ = 0 it is exactly serial
optimization, step for step.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .. import _checks


def async_sgd(optimizer, gradient, theta0, n_steps, *, delay=0, random_delay=False, seed=0):
    """Run ``optimizer`` for ``n_steps`` with stale gradients; returns the trajectory (n_steps + 1, d).

    ``gradient(x)`` returns ∇J(x) as a new array. ``delay`` is the constant
    staleness τ, or with ``random_delay`` the largest one, τ_t ~ U{0, …, delay}.
    """
    _checks.whole_number(delay, "delay", low=0)
    _checks.whole_number(n_steps, "n_steps", low=0)
    theta = np.array(theta0, dtype=np.float64)
    _checks.float_array(theta, "theta0")
    state = optimizer.init(theta)
    rng = np.random.default_rng(seed)
    history = deque([theta.copy()], maxlen=delay + 1)  # θ_{t−1−delay} … θ_{t−1}
    path = [theta.copy()]
    for t in range(1, n_steps + 1):
        tau = int(rng.integers(0, delay + 1)) if random_delay else delay
        stale = history[max(len(history) - 1 - tau, 0)]
        # Nesterov's look-ahead uses the velocity known now (the server's), at the stale point
        g = np.asarray(gradient(optimizer.lookahead(stale, state)), dtype=np.float64)
        optimizer.step(theta, g, state)
        history.append(theta.copy())
        path.append(theta.copy())
    return np.array(path)


def sync_sgd(optimizer, gradients, theta0, n_steps):
    """Synchronous data-parallel SGD: each step averages every worker's gradient at the current θ.

    ``gradients`` is a list of callables, one per worker (for example each on
    its own data shard). Returns the trajectory (n_steps + 1, d).
    """
    if not gradients:
        raise ValueError("gradients must list at least one worker's gradient function")
    theta = np.array(theta0, dtype=np.float64)
    state = optimizer.init(theta)
    path = [theta.copy()]
    for _ in range(n_steps):
        point = optimizer.lookahead(theta, state)
        g = np.mean([np.asarray(grad(point), dtype=np.float64) for grad in gradients], axis=0)
        optimizer.step(theta, g, state)
        path.append(theta.copy())
    return np.array(path)
