"""The simulated clock of the event simulators: workers of unequal speed.

Worker w's steps take ``base_w × U(1 − jitter, 1 + jitter)`` time units, with
``base_w`` drawn once from U(1, 1 + spread). Unequal speeds are what make
asynchronous workers drift apart and their gradients stale; ``spread = 0``
and ``jitter = 0`` make every worker equally fast.
"""

from __future__ import annotations

import heapq

import numpy as np

from .. import _checks


class Clock:
    """A seeded event queue of (time, worker, what) in time order (ties by insertion)."""

    def __init__(self, n_workers, *, spread=0.5, jitter=0.2, latency=0.0, seed=0):
        self.spread = _checks.non_negative(spread, "spread")
        self.jitter = _checks.non_negative(jitter, "jitter")
        if self.jitter >= 1:
            raise ValueError(f"jitter must be < 1 (a step cannot take no time), got {jitter!r}")
        self.latency = _checks.non_negative(latency, "latency")
        self.rng = np.random.default_rng(seed)
        self.base = 1.0 + self.spread * self.rng.random(n_workers)
        self._queue, self._count = [], 0

    def step_time(self, worker):
        return self.base[worker] * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0))

    def message_time(self):
        """Time for a message to reach a server shard: latency × U(0.5, 1.5)."""
        return self.latency * (0.5 + self.rng.random()) if self.latency else 0.0

    def schedule(self, time, worker, what, payload=None):
        heapq.heappush(self._queue, (time, self._count, worker, what, payload))
        self._count += 1

    def __iter__(self):
        while self._queue:
            time, _, worker, what, payload = heapq.heappop(self._queue)
            yield time, worker, what, payload
