"""Assignment ``momentum_nesterov``: momentum and Nesterov's accelerated gradient, as step questions.

Each reference is gdlib's optimizer; each mistake is a small NumPy transcription of the wrong rule,
called like the reference (see :mod:`autograde.steps` for the calling convention).
"""

from __future__ import annotations

import numpy as np

import gdlib

from ..runner import Mistake
from ..steps import StepQuestion, gdlib_step


# ------------------------------------------------------------------ Momentum
def momentum_ref(theta, g, state, eta, gamma):
    return gdlib_step(gdlib.Momentum(eta=eta, gamma=gamma, check_finite=False), theta, g, state, ("v",), False)


def _momentum_ema(theta, g, state, eta, gamma):
    v = gamma * state["v"] + (1 - gamma) * g
    return theta - eta * v, {"v": v}


def _momentum_eta_outside(theta, g, state, eta, gamma):
    v = gamma * state["v"] + g
    return theta - eta * v, {"v": v}


def _momentum_sign(theta, g, state, eta, gamma):
    v = gamma * state["v"] + eta * g
    return theta + v, {"v": v}


def _momentum_no_memory(theta, g, state, eta, gamma):
    v = eta * g
    return theta - v, {"v": v}


MOMENTUM = StepQuestion(
    function="momentum_step", init="momentum_init", keys=("v",), hyper=dict(eta=0.05, gamma=0.9),
    reference=momentum_ref, mistakes=[
        Mistake("ema_form", "You wrote momentum as an exponential moving average, v = γv + (1 − γ)g with "
                "θ ← θ − ηv. The book's rule is the sum form v_t = γ v_{t−1} + η g_t, θ_t = θ_{t−1} − v_t.",
                _momentum_ema),
        Mistake("eta_outside", "Your velocity accumulates raw gradients (v = γv + g) and η multiplies it afterwards: "
                "PyTorch's convention. The parameters come out right, but the book's v_t includes η: "
                "v_t = γ v_{t−1} + η g_t.", _momentum_eta_outside),
        Mistake("sign", "The parameters move uphill: subtract the velocity, θ_t = θ_{t−1} − v_t.",
                _momentum_sign),
        Mistake("no_memory", "Your velocity forgets the previous one: v_t must include γ v_{t−1}.",
                _momentum_no_memory),
    ])


# ------------------------------------------------------------------ Nesterov
def nesterov_ref(theta, state, grad_fn, eta, gamma):
    opt = gdlib.Nesterov(eta=eta, gamma=gamma, check_finite=False)
    theta = np.array(theta, dtype=np.float64)
    s = opt.init(theta)
    s.v[...] = state["v"]
    g = grad_fn(opt.lookahead(theta, s))
    opt.step(theta, g, s)
    return theta, {"v": s.v.copy()}


def _nesterov_at_theta(theta, state, grad_fn, eta, gamma):
    v = gamma * state["v"] + eta * grad_fn(theta)
    return theta - v, {"v": v}


def _nesterov_plus(theta, state, grad_fn, eta, gamma):
    v = gamma * state["v"] + eta * grad_fn(theta + gamma * state["v"])
    return theta - v, {"v": v}


def _nesterov_shifted(theta, state, grad_fn, eta, gamma):
    g = grad_fn(theta)
    v = gamma * state["v"] + eta * g
    return theta - (gamma * v + eta * g), {"v": v}


NESTEROV = StepQuestion(
    function="nesterov_step", init="nesterov_init", keys=("v",), hyper=dict(eta=0.05, gamma=0.9),
    reference=nesterov_ref, gradient="lookahead", mistakes=[
        Mistake("gradient_at_theta", "You take the gradient at θ_{t−1}, which is classical momentum. Nesterov's "
                "gradient is taken at the look-ahead point θ_{t−1} − γ v_{t−1}.", _nesterov_at_theta),
        Mistake("lookahead_sign", "Your look-ahead point is θ + γv; the velocity is subtracted from θ, so look "
                "ahead to θ_{t−1} − γ v_{t−1}.", _nesterov_plus),
        Mistake("shifted_form", "You implemented the framework (shifted) form φ ← φ − (γ v_t + η g_t) with the "
                "gradient at the stored point. The exercise asks for the seed's form: gradient at "
                "θ_{t−1} − γ v_{t−1}, then θ_t = θ_{t−1} − v_t.", _nesterov_shifted),
    ])

QUESTIONS = [MOMENTUM, NESTEROV]
