"""Assignment ``parallel``: one round of elastic averaging SGD and one update of AdaRevision's server."""

from __future__ import annotations

from functools import partial

import numpy as np

from gdlib.parallel import AdaptiveRevision, easgd_round

from ..runner import Case, Mistake, Question, seed


# ---------------------------------------------------------------------- EASGD
def easgd_new_workers_for_center(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads + rho * (workers - center))
    return new_workers, center + eta * rho * (new_workers - center).sum(axis=0)


def easgd_mean(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads + rho * (workers - center))
    return new_workers, center + eta * rho * (workers - center).mean(axis=0)


def easgd_sign(workers, center, grads, eta, rho):
    new_workers = workers - eta * (grads - rho * (workers - center))
    return new_workers, center - eta * rho * (workers - center).sum(axis=0)


def _easgd_case(p, d, eta, rho):
    rng = np.random.default_rng(seed("easgd", p, d))
    workers, center, grads = rng.standard_normal((p, d)), rng.standard_normal(d), rng.standard_normal((p, d))
    return Case(f"{p} workers, η = {eta}, ρ = {rho}", (workers, center, grads, eta, rho))


EASGD_ROUND = Question(
    function="easgd_round", points=4, reference=easgd_round, outputs=("workers", "center"), unchanged=(0, 1),
    inplace_advice="Return new arrays: do not update the workers or the centre in place.",
    cases=[_easgd_case(*c) for c in ((4, 3, 0.1, 0.5), (2, 5, 0.05, 1.0), (8, 2, 0.01, 2.0), (1, 4, 0.2, 0.0))],
    mistakes=[
        Mistake("new_workers_for_center", "The centre moves with the workers' values before the round, "
                "x^i_t − x̃_t, not with their updated values.", easgd_new_workers_for_center),
        Mistake("mean", "The centre's elastic force sums over the workers (η ρ Σ_i), it does not average.",
                easgd_mean),
        Mistake("sign", "Sign error: the elastic force pulls each worker towards the centre and the centre "
                "towards the workers.", easgd_sign),
    ])


# ---------------------------------------------------- delay-tolerant AdaGrad
def adarevision_ref(theta, g_sum, z, z_max, g, g_old, eta, eps):
    """gdlib's AdaptiveRevision server, started from the given state, after one update."""
    server = AdaptiveRevision(theta, eta, eps)
    server.g_sum[:], server.z[:], server.z_max[:] = g_sum, z, z_max
    server.update(g, g_old)
    return server.theta, server.g_sum, server.z, server.z_max


def adarevision_variant(theta, g_sum, z, z_max, g, g_old, eta, eps, *, cross=True, revise=1.0, use_max=True):
    """Recognised mistakes: no cross term, no (or a sign-flipped) revision, z instead of z' = max(z', z)."""
    g_bck = g_sum - g_old
    lr_old = eta / np.sqrt(z_max + eps)
    z = z + g * g + (2 * g * g_bck if cross else 0.0)
    z_max = np.maximum(z_max, z) if use_max else z
    with np.errstate(invalid="ignore"):
        lr_new = eta / np.sqrt(z_max + eps)
    theta = theta - lr_new * g + revise * (lr_old - lr_new) * g_bck
    return theta, g_sum + g, z, z_max


def _adarevision_case(d, seed_, delay, eta, eps):
    """A server state as a run would leave it (z <= z'), a gradient and its backlog."""
    rng = np.random.default_rng(seed("adarevision", d, seed_))
    z_max = rng.uniform(0.5, 4.0, d)
    z = z_max - rng.uniform(0.0, 1.0, d) * (rng.random(d) < 0.5)  # below z' where cross terms were negative
    g_sum = rng.standard_normal(d) * 3
    g_old = g_sum - (rng.standard_normal(d) * 2 if delay else 0.0)
    return Case(f"d = {d}, {'with a backlog' if delay else 'no delay'}, η = {eta}, ε = {eps}",
                (rng.standard_normal(d), g_sum, z, z_max, rng.standard_normal(d), g_old, eta, eps))


ADAREVISION_UPDATE = Question(
    function="adarevision_update", points=4, reference=adarevision_ref, outputs=("theta", "g_sum", "z", "z_max"),
    unchanged=tuple(range(6)), inplace_advice="Return new arrays: do not update the state in place.",
    cases=[_adarevision_case(*c) for c in ((5, 0, True, 0.1, 1e-8), (3, 1, False, 0.5, 1e-8), (8, 2, True, 1.0, 0.0),
                                           (6, 3, True, 0.05, 0.1))],
    mistakes=[
        Mistake("no_cross_term", "z grows by g² + 2 g g_bck: the cross term with the backlog is missing (that is "
                "plain AdaGrad's accumulator).", partial(adarevision_variant, cross=False)),
        Mistake("no_revision", "The backlog's step must be revised: add (η_old − η_new) g_bck to θ.",
                partial(adarevision_variant, revise=0.0)),
        Mistake("revision_sign", "Sign error in the revision: θ gains + (η_old − η_new) g_bck, the part of the "
                "backlog's step that the smaller new rate takes back.", partial(adarevision_variant, revise=-1.0)),
        Mistake("z_not_max", "The learning rate uses z' = max(z', z), which never decreases, not z itself.",
                partial(adarevision_variant, use_max=False)),
    ])

QUESTIONS = [EASGD_ROUND, ADAREVISION_UPDATE]
