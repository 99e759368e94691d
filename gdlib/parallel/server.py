"""What the distributed algorithms share: data shards, and a sharded parameter server.

* :class:`ShardGradient`: one worker's stochastic gradient, a mini-batch drawn
  from its own rows of the data on each call. It pickles, so Dask can ship it.
* :class:`ParameterServer`: θ cut into contiguous shards, each with its own
  optimizer state and its own update counter (its *version*), as in Downpour,
  where every server machine owns a fraction of the parameters and updates it
  on its own. A worker reads (fetches) all shards and writes (pushes) a
  gradient to each shard; shards need not see the pushes in the same order.
* :class:`DistributedRun`: what a run returns, whatever executed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _checks
from ..models.base import TRAIN, Model
from ..optim.base import Optimizer


whole_number = _checks.whole_number  # the parallel modules import it from here


class ShardGradient:
    """Mini-batch gradient of ``model`` on one shard (X, y); call it with θ.

    Each call draws ``batch_size`` rows uniformly with replacement from the
    shard with the generator seeded by ``seed``, so a sequence of calls is
    reproducible. ``draw(theta, rng)`` draws with a generator of the caller's:
    Dask tasks seed one from their own identity, so that a task run twice
    (after a worker died) computes the same gradients.
    """

    def __init__(self, model, X, y, *, batch_size=1, seed=0):
        if not isinstance(model, Model):
            raise TypeError(f"model must be a gdlib model (gdlib.models), got {type(model).__name__}")
        self.model = model
        self.X, self.y = model.check_data(X, y)
        self.batch_size = whole_number(batch_size, "batch_size")
        self._rng = np.random.default_rng(seed)
        self._buffers = model.new_buffers()

    @property
    def n_rows(self):
        return self.X.shape[0]

    def __call__(self, theta):
        return self._gradient(theta, self._rng)

    def draw(self, theta, rng):
        return self._gradient(theta, rng)

    def _gradient(self, theta, rng):
        theta = np.ascontiguousarray(theta, dtype=self.X.dtype)
        idx = rng.integers(0, self.n_rows, self.batch_size).astype(np.int64)
        grad = np.empty_like(theta)
        self.model._loss_grad(theta, self.X, self.y, idx, grad, self.model.spec, self._buffers, TRAIN)
        return grad


def shard_gradients(model, X, y, n_workers, *, batch_size=1, seed=0):
    """Cut (X, y) into ``n_workers`` contiguous shards of (almost) equal size,
    one :class:`ShardGradient` each, with independent seeds."""
    n_workers = whole_number(n_workers, "n_workers")
    X, y = model.check_data(X, y)
    if n_workers > X.shape[0]:
        raise ValueError(f"n_workers ({n_workers}) is larger than the number of rows ({X.shape[0]})")
    bounds = np.linspace(0, X.shape[0], n_workers + 1).astype(int)
    seeds = np.random.SeedSequence(seed).spawn(n_workers)
    return [ShardGradient(model, X[a:b], y[a:b], batch_size=batch_size, seed=s)
            for a, b, s in zip(bounds[:-1], bounds[1:], seeds)]


class ParameterServer:
    """θ split into ``n_shards`` contiguous blocks, each updated by its own copy of ``optimizer``'s state.

    ``fetch()`` returns a copy of θ and the shards' versions at that moment;
    ``push(shard, g_shard)`` applies one gradient to one shard and returns
    the shard's new version. With one shard this is a plain server.
    """

    def __init__(self, theta0, optimizer, n_shards=1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a gdlib optimizer such as gdlib.Adagrad(eta=0.1), got {optimizer!r}")
        theta = np.array(theta0, dtype=np.float64).reshape(-1)
        _checks.float_array(theta, "theta0")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta0 contains NaN or infinite values")
        n_shards = whole_number(n_shards, "n_shards")
        if n_shards > theta.size:
            raise ValueError(f"n_shards ({n_shards}) cannot exceed the number of parameters ({theta.size})")
        self.theta = theta
        self.optimizer = optimizer
        cuts = np.linspace(0, theta.size, n_shards + 1).astype(int)
        self.slices = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]
        self.states = [optimizer.init(theta[s]) for s in self.slices]
        self.versions = np.zeros(n_shards, dtype=np.int64)

    @property
    def n_shards(self):
        """The number of shards θ is split into."""
        return len(self.slices)

    def fetch(self):
        """A copy of θ and of every shard's version (its number of updates so far)."""
        return self.theta.copy(), self.versions.copy()

    def push(self, shard, g_shard):
        """Apply ``g_shard``, a gradient for shard ``shard`` only, with that shard's optimizer state.

        Returns the shard's new version number.
        """
        view = self.theta[self.slices[shard]]  # contiguous: updated in place
        self.optimizer.step(view, np.ascontiguousarray(g_shard, dtype=np.float64), self.states[shard])
        self.versions[shard] += 1
        return int(self.versions[shard])

    def push_all(self, g):
        """Push a whole gradient, shard by shard (the order a real worker would send it)."""
        for k, s in enumerate(self.slices):
            self.push(k, g[s])


@dataclass
class DistributedRun:
    """The result of a distributed run.

    ``theta``: the server's (or centre's) final parameters. ``times`` and
    ``path``: the server's θ after each recorded update, with the (simulated
    or wall-clock) time of that update. ``staleness``: for every gradient the
    server applied, how many updates its shard had received since the worker
    fetched the parameters it computed it from. ``updates``: gradients
    applied (per shard, summed over shards). ``events``: what happened that a
    reader should know (a worker lost, a task recomputed).
    """

    theta: np.ndarray
    times: np.ndarray
    path: np.ndarray
    staleness: np.ndarray
    updates: int
    events: list = field(default_factory=list)

    def losses(self, loss):
        """``loss(θ)`` along the recorded path."""
        return np.array([loss(t) for t in self.path])
