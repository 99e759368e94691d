"""Elastic Averaging SGD (Zhang, Choromanska and LeCun, 2015), synchronous form.

p workers hold their own parameters x^i; a centre variable x̃ ties them
together with an elastic force of strength ρ. One round, with every worker's
gradient g^i taken at its own x^i_t::

    x^i_{t+1} = x^i_t − η ( g^i_t + ρ (x^i_t − x̃_t) )
    x̃_{t+1}  = x̃_t  + η ρ Σ_i (x^i_t − x̃_t)

Both updates use the values *before* the round (x^i_t and x̃_t). With
α = ηρ the paper writes the elastic term as α (x^i_t − x̃_t). A small ρ lets the
workers wander further from the centre: more exploration.
"""

from __future__ import annotations

import numpy as np

from .. import _checks


def easgd_round(workers, center, grads, eta, rho):
    """One synchronous EASGD round; returns new (workers, center) arrays.

    Parameters
    ----------
    workers : (p, d) array, one row per worker's parameters x^i_t
    center : (d,) array, the centre variable x̃_t
    grads : (p, d) array, each worker's gradient g^i_t at its own parameters
    eta, rho : learning rate η > 0 and elastic strength ρ >= 0 (with ηρp < 1
        for the centre's update to be stable).
    """
    eta = _checks.positive(eta, "eta")
    rho = _checks.non_negative(rho, "rho")
    workers = np.asarray(workers, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    grads = np.asarray(grads, dtype=np.float64)
    if workers.ndim != 2 or center.shape != workers.shape[1:] or grads.shape != workers.shape:
        raise ValueError(
            f"workers must be (p, d), center (d,) and grads (p, d); got {workers.shape}, {center.shape}, "
            f"{grads.shape}"
        )
    pull = workers - center  # x^i_t − x̃_t, before either moves
    return workers - eta * (grads + rho * pull), center + eta * rho * pull.sum(axis=0)
