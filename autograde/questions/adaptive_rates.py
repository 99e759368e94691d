"""Assignment ``adaptive_rates``: Adagrad, Adadelta and RMSprop, and PyTorch's Adagrad, as step questions.

Each reference is gdlib's optimizer; each mistake is a small NumPy transcription of the wrong rule,
called like the reference (see :mod:`autograde.steps` for the calling convention).
"""

from __future__ import annotations

import numpy as np

import gdlib

from ..runner import Mistake
from ..steps import StepQuestion, gdlib_step, safe_divide


# ------------------------------------------------------------------- Adagrad
def adagrad_ref(theta, g, state, eta, eps):
    return gdlib_step(gdlib.Adagrad(eta=eta, eps=eps, check_finite=False), theta, g, state, ("G",), False)


def _adagrad_eps_outside(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * safe_divide(g, np.sqrt(G) + eps), {"G": G}


def _adagrad_no_sqrt(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * safe_divide(g, G + eps), {"G": G}


def _adagrad_no_sum(theta, g, state, eta, eps):
    G = g * g
    return theta - eta * safe_divide(g, np.sqrt(G + eps)), {"G": G}


def _adagrad_old_G(theta, g, state, eta, eps):
    G = state["G"] + g * g
    return theta - eta * safe_divide(g, np.sqrt(state["G"] + eps)), {"G": G}


ADAGRAD = StepQuestion(
    function="adagrad_step", init="adagrad_init", keys=("G",), hyper=dict(eta=0.1, eps=1e-8),
    reference=adagrad_ref, mistakes=[
        Mistake("eps_outside", "You put ε outside the square root, sqrt(G) + ε. The book's Adagrad divides by "
                "sqrt(G_t + ε).", _adagrad_eps_outside),
        Mistake("no_sqrt", "You divide by G_t itself; Adagrad divides by its square root.", _adagrad_no_sqrt),
        Mistake("no_accumulation", "Your G_t is only the current g_t²: Adagrad sums all past squared gradients, "
                "G_t = G_{t−1} + g_t².", _adagrad_no_sum),
        Mistake("stale_G", "You divide by the previous G_{t−1}; add g_t² first and divide by sqrt(G_t + ε).",
                _adagrad_old_G),
    ])


# ------------------------------------------------------------------ Adadelta
def adadelta_ref(theta, g, state, gamma, eps):
    opt = gdlib.Adadelta(gamma=gamma, eps=eps, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("Eg2", "Edelta2"), False)


def _adadelta_generic(theta, g, state, gamma, eps, *, current_delta=False, squares_theta=False, lag=False):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    if current_delta:  # RMS[Δθ]_t: update the average with a first guess of the step, then use it
        guess = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
        Ed = gamma * state["Edelta2"] + (1 - gamma) * guess * guess
        delta = -np.sqrt(Ed + eps) / np.sqrt(Eg2 + eps) * g
        return theta + delta, {"Eg2": Eg2, "Edelta2": Ed}
    delta = -np.sqrt(state["Edelta2"] + eps) / np.sqrt(Eg2 + eps) * g
    new_theta = theta + delta
    if squares_theta:
        Ed = gamma * state["Edelta2"] + (1 - gamma) * new_theta * new_theta
    else:
        Ed = gamma * state["Edelta2"] + (1 - gamma) * delta * delta
    return new_theta, {"Eg2": Eg2, "Edelta2": Ed}


ADADELTA = StepQuestion(
    function="adadelta_step", init="adadelta_init", keys=("Eg2", "Edelta2"), hyper=dict(gamma=0.9, eps=1e-6),
    reference=adadelta_ref, mistakes=[
        Mistake("rms_delta_t", "Your numerator uses RMS[Δθ]_t, including the current step. Adadelta uses the "
                "previous one, RMS[Δθ]_{t−1}, because Δθ_t is not known yet.",
                lambda *a, **k: _adadelta_generic(*a, **k, current_delta=True)),
        Mistake("squares_theta", "You accumulate θ² instead of the squared update Δθ_t² in E[Δθ²].",
                lambda *a, **k: _adadelta_generic(*a, **k, squares_theta=True)),
    ])


# ------------------------------------------------------------------- RMSprop
def rmsprop_ref(theta, g, state, eta, gamma, eps):
    return gdlib_step(gdlib.RMSprop(eta=eta, gamma=gamma, eps=eps, check_finite=False), theta, g, state,
                       ("Eg2",), False)


def _rmsprop_eps_outside(theta, g, state, eta, gamma, eps):
    Eg2 = gamma * state["Eg2"] + (1 - gamma) * g * g
    return theta - eta * safe_divide(g, np.sqrt(Eg2) + eps), {"Eg2": Eg2}


def _rmsprop_swapped(theta, g, state, eta, gamma, eps):
    Eg2 = (1 - gamma) * state["Eg2"] + gamma * g * g
    return theta - eta * safe_divide(g, np.sqrt(Eg2 + eps)), {"Eg2": Eg2}


RMSPROP = StepQuestion(
    function="rmsprop_step", init="rmsprop_init", keys=("Eg2",), hyper=dict(eta=0.01, gamma=0.9, eps=1e-8),
    reference=rmsprop_ref, mistakes=[
        Mistake("eps_outside", "You put ε outside the square root (PyTorch's form); the book's RMSprop divides by "
                "sqrt(E[g²]_t + ε).", _rmsprop_eps_outside),
        Mistake("swapped_decay", "γ and 1 − γ are swapped: the old average keeps weight γ, "
                "E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t².", _rmsprop_swapped),
    ])





# ---------------------------------------------- PyTorch's Adagrad (frameworks)
def torch_adagrad_ref(theta, g, state, eta, eps, lr_decay):
    opt = gdlib.Adagrad(eta=eta, eps=eps, eps_inside_sqrt=False, lr_decay=lr_decay, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("G",), True)


def _torch_adagrad(theta, g, state, eta, eps, lr_decay, *, inside=False, shift=1, decay=True):
    t = state["t"] + 1
    G = state["G"] + g * g
    eta_t = eta / (1 + (t - shift) * lr_decay) if decay else eta
    return theta - eta_t * safe_divide(g, np.sqrt(G + eps) if inside else np.sqrt(G) + eps), {"G": G, "t": t}


TORCH_ADAGRAD = StepQuestion(
    function="torch_adagrad_step", init="torch_adagrad_init", keys=("G",), has_t=True,
    hyper=dict(eta=0.1, eps=1e-10, lr_decay=0.1), reference=torch_adagrad_ref, mistakes=[
        Mistake("seed_eps", "You put ε inside the square root, the seed's form: PyTorch adds it outside, "
                "√G_t + ε (it matters where G_t is tiny).",
                lambda *a, **k: _torch_adagrad(*a, **k, inside=True)),
        Mistake("decay_off_by_one", "Your decay uses t instead of t − 1: PyTorch's first step uses the full η, "
                "η_t = η/(1 + (t − 1)·lr_decay).", lambda *a, **k: _torch_adagrad(*a, **k, shift=0)),
        Mistake("no_decay", "The learning rate never decays: PyTorch's Adagrad uses η_t = η/(1 + (t − 1)·lr_decay).",
                lambda *a, **k: _torch_adagrad(*a, **k, decay=False)),
    ])

QUESTIONS = [ADAGRAD, ADADELTA, RMSPROP, TORCH_ADAGRAD]
