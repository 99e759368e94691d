"""Delay-tolerant AdaGrad: AdaptiveRevision (McMahan and Streeter, 2014).

Asynchronous AdaGrad applies a gradient g computed at parameters read
earlier. In between, other workers' gradients (the *backlog*) were applied
with the learning rates of their own moments, which knew nothing of g. The
server of AdaptiveRevision keeps, per coordinate, the sum of all applied
gradients g_{1:t} besides θ, and a worker remembers that sum at the moment
it read θ (g^old). When g arrives, per coordinate::

    g^bck  = g_{1:t} − g^old                 the backlog since the read
    η_old  = η / sqrt(z' + ε)                the current learning rate
    z      = z + g² + 2 g g^bck              (may decrease)
    z'     = max(z', z)                      (never does)
    η_new  = η / sqrt(z' + ε)
    θ      = θ − η_new g + (η_old − η_new) g^bck
    g_{1:t} = g_{1:t} + g

The last term *revises* the backlog's step, taken with η_old, to what it
would have been with the smaller η_new. The term 2 g g^bck makes the
learning rate shrink faster when g and its backlog point the same way
(their sum is what really moved θ) and slower when they cancel. With no
delay g^bck = 0, z' = z = Σ g², and the update is AdaGrad's (with ε inside
the square root, the seed's convention), step for step.

Rates with sqrt(z' + ε) = 0 (only possible with ε = 0 and no gradient yet)
are taken as 0: no information, no step, as everywhere in gdlib.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .. import _checks
from .server import DistributedRun, whole_number


def _rate(eta, z_max, eps):
    r = np.sqrt(z_max + eps)
    return np.divide(eta, r, out=np.zeros_like(r), where=r > 0), r


class AdaptiveRevision:
    """The server of delay-tolerant AdaGrad: ``read()`` and ``update(g, g_old)``.

    Parameters
    ----------
    theta0 : numpy.ndarray
        The initial parameters.
    eta : float
        The base learning rate η > 0.
    eps : float
        ε >= 0 inside the square root.
    revise : bool
        False turns off the delay adaptation: then the server is plain
        AdaGrad applied to stale gradients (the baseline it is compared with).
    """

    def __init__(self, theta0, eta, eps=1e-8, *, revise=True):
        self.eta = _checks.positive(eta, "eta")
        self.eps = _checks.non_negative(eps, "eps")
        self.revise = _checks.flag(revise, "revise")
        self.theta = np.array(theta0, dtype=np.float64).reshape(-1)
        _checks.float_array(self.theta, "theta0")
        self.g_sum = np.zeros_like(self.theta)   # g_{1:t}
        self.z = np.zeros_like(self.theta)
        self.z_max = np.zeros_like(self.theta)   # z'
        self.t = 0

    def read(self):
        """θ and the gradient sum g^old, both copied, for a worker about to compute a gradient."""
        return self.theta.copy(), self.g_sum.copy()

    def update(self, g, g_old):
        """Apply the gradient ``g``, computed by a worker whose read returned ``g_old``.

        The gradients that reached the server since that read, g^bck =
        g_{1:t} − ``g_old``, revise the step (unless ``revise=False``): the
        accumulator grows by g² + 2 g · g^bck, and the past steps are corrected for
        the change of learning rate, θ ← θ − η g / r_new + (η/r_old − η/r_new) g^bck,
        with r = sqrt(z' + ε) before and after the update (z' the running maximum
        of the accumulator).
        """
        g = np.asarray(g, dtype=np.float64).reshape(self.theta.shape)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"the gradient has NaN or infinite entries at update {self.t + 1}; nothing was updated")
        g_bck = self.g_sum - g_old if self.revise else np.zeros_like(g)
        lr_old, _ = _rate(self.eta, self.z_max, self.eps)
        self.z += g * g + 2.0 * g * g_bck
        np.maximum(self.z_max, self.z, out=self.z_max)
        lr_new, r = _rate(self.eta, self.z_max, self.eps)
        # η (g / r) rounds exactly as gdlib.Adagrad does: with no delay, the same θ bit for bit
        step = self.eta * np.divide(g, r, out=np.zeros_like(g), where=r > 0)
        self.theta -= step
        self.theta += (lr_old - lr_new) * g_bck
        self.g_sum += g
        self.t += 1


def async_adagrad(gradient, theta0, n_steps, *, eta, eps=1e-8, delay=0, random_delay=False, seed=0,
                  revise=True):
    """Asynchronous AdaGrad with stale gradients, with (default) or without AdaptiveRevision.

    The gradient applied at update t was computed from the read made just
    after update t − 1 − τ_t (τ_t = ``delay``, or uniform on 0 … ``delay``
    with ``random_delay``), exactly as in :func:`gdlib.parallel.async_sgd`.
    Returns a :class:`~gdlib.parallel.server.DistributedRun` (times are update counts).
    """
    delay = whole_number(delay, "delay", low=0)
    n_steps = whole_number(n_steps, "n_steps", low=0)
    server = AdaptiveRevision(theta0, eta, eps, revise=revise)
    rng = np.random.default_rng(seed)
    reads = deque([server.read()], maxlen=delay + 1)
    path, staleness = [server.theta.copy()], []
    for _ in range(n_steps):
        tau = int(rng.integers(0, delay + 1)) if random_delay else delay
        index = max(len(reads) - 1 - tau, 0)
        theta_read, g_old = reads[index]
        staleness.append(len(reads) - 1 - index)
        server.update(np.asarray(gradient(theta_read), dtype=np.float64), g_old)
        reads.append(server.read())
        path.append(server.theta.copy())
    return DistributedRun(server.theta.copy(), np.arange(n_steps + 1, dtype=np.float64), np.array(path),
                          np.array(staleness, dtype=np.int64), n_steps)
