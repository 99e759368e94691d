"""Assignment ``adam_family``: Adam, AdaMax, Nadam and AMSGrad, as step questions.

Each reference is gdlib's optimizer; each mistake is a small NumPy transcription of the wrong rule,
called like the reference (see :mod:`autograde.steps` for the calling convention).
"""

from __future__ import annotations

import numpy as np

import gdlib

from ..runner import Mistake
from ..steps import StepQuestion, gdlib_step, safe_divide


# ---------------------------------------------------------------------- Adam
def adam_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Adam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "v"), True)


def _adam(theta, g, state, eta, beta1, beta2, eps, *, t_shift=0, advance=True, correct=True, inside=False,
          init_with_g=False):
    t = state["t"] + (1 if advance else 0)
    if init_with_g and state["t"] == 0:
        m, v = g.copy(), g * g
    else:
        m = beta1 * state["m"] + (1 - beta1) * g
        v = beta2 * state["v"] + (1 - beta2) * g * g
    tc = t + t_shift if advance else max(t, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m / (1 - beta1**tc) if correct else m
        v_hat = v / (1 - beta2**tc) if correct else v
        den = np.sqrt(v_hat + eps) if inside else np.sqrt(v_hat) + eps
        new = theta - eta * m_hat / den
    return new, {"m": m, "v": v, "t": t}


ADAM = StepQuestion(
    function="adam_step", init="adam_init", keys=("m", "v"), has_t=True,
    hyper=dict(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
    reference=adam_ref, mistakes=[
        Mistake("t_before_increment", "Your bias correction uses the step count before it is increased (t − 1): "
                "on the first step that divides by 1 − β⁰ = 0. Increase t first, then use 1 − β^t.",
                lambda *a, **k: _adam(*a, **k, t_shift=-1)),
        Mistake("t_plus_one", "Your bias correction uses t + 1: the first step must use 1 − β¹.",
                lambda *a, **k: _adam(*a, **k, t_shift=1)),
        Mistake("t_not_advanced", "Your step count t never changes: store t + 1 in the returned state.",
                lambda *a, **k: _adam(*a, **k, advance=False)),
        Mistake("no_bias_correction", "You did not divide m_t by 1 − β1^t and v_t by 1 − β2^t (bias correction).",
                lambda *a, **k: _adam(*a, **k, correct=False)),
        Mistake("eps_inside", "You put ε inside the square root (You's slides); this exercise follows Ruder: "
                "divide by sqrt(v̂_t) + ε.", lambda *a, **k: _adam(*a, **k, inside=True)),
        Mistake("init_with_g", "Your moments start from the first gradient (m = g, v = g²) instead of from zero; "
                "the averages start at 0 and the bias correction accounts for it.",
                lambda *a, **k: _adam(*a, **k, init_with_g=True)),
    ])


# -------------------------------------------------------------------- AdaMax
def adamax_ref(theta, g, state, eta, beta1, beta2):
    opt = gdlib.AdaMax(eta=eta, beta1=beta1, beta2=beta2, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "u"), True)


def _adamax(theta, g, state, eta, beta1, beta2, *, nan=False, correct_u=False, no_decay=False):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(state["u"] if no_decay else beta2 * state["u"], np.abs(g))
    den = u / (1 - beta2**t) if correct_u else u
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = m / den if nan else safe_divide(m, den)
    return theta - eta / (1 - beta1**t) * ratio, {"m": m, "u": u, "t": t}


ADAMAX = StepQuestion(
    function="adamax_step", init="adamax_init", keys=("m", "u"), has_t=True,
    hyper=dict(eta=0.002, beta1=0.9, beta2=0.999),
    reference=adamax_ref, mistakes=[
        Mistake("nan_zero_over_zero", "Where every gradient so far was zero, u_t = 0 and m_t = 0, and your code "
                "computes 0/0 = NaN. Take no step there (the limit of the rule).",
                lambda *a, **k: _adamax(*a, **k, nan=True)),
        Mistake("bias_corrected_u", "You bias-corrected u_t; a maximum does not shrink towards its zero start, "
                "so only m_t is corrected.", lambda *a, **k: _adamax(*a, **k, correct_u=True)),
        Mistake("no_decay", "Your u_t = max(u_{t−1}, |g_t|) never decays: multiply the old value by β2.",
                lambda *a, **k: _adamax(*a, **k, no_decay=True)),
    ])


# --------------------------------------------------------------------- Nadam
def nadam_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Nadam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "v"), True)


def nadam_optax(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.Nadam(eta=eta, beta1=beta1, beta2=beta2, eps=eps, form="optax", check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "v"), True)


NADAM = StepQuestion(
    function="nadam_step", init="nadam_init", keys=("m", "v"), has_t=True,
    hyper=dict(eta=0.002, beta1=0.9, beta2=0.999, eps=1e-8),
    reference=nadam_ref, mistakes=[
        Mistake("plain_adam", "Your step is Adam's: Nadam replaces β1·m̂_{t−1} by β1·m̂_t and adds the current "
                "gradient's term (1 − β1) g_t / (1 − β1^t).", adam_ref),
        Mistake("optax_form", "You corrected the look-ahead term with 1 − β1^{t+1} (optax's and Dozat's form); "
                "the exercise asks for the seed's equation, β1·m̂_t with m̂_t = m_t / (1 − β1^t).", nadam_optax),
    ])


# ------------------------------------------------------------------- AMSGrad
def amsgrad_ref(theta, g, state, eta, beta1, beta2, eps):
    opt = gdlib.AMSGrad(eta=eta, beta1=beta1, beta2=beta2, eps=eps, check_finite=False)
    return gdlib_step(opt, theta, g, state, ("m", "v", "v_hat"), False)


def _amsgrad_max_g2(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_hat = np.maximum(state["v_hat"], g * g)
    return theta - eta * m / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "v_hat": v_hat}


def _amsgrad_no_max(theta, g, state, eta, beta1, beta2, eps):
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return theta - eta * m / (np.sqrt(v) + eps), {"m": m, "v": v, "v_hat": v}


AMSGRAD = StepQuestion(
    function="amsgrad_step", init="amsgrad_init", keys=("m", "v", "v_hat"),
    hyper=dict(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-8),
    reference=amsgrad_ref, mistakes=[
        Mistake("max_over_g2", "Your running maximum is over the squared gradients g_t²; AMSGrad keeps the maximum "
                "of the average v_t: v̂_t = max(v̂_{t−1}, v_t).", _amsgrad_max_g2),
        Mistake("no_max", "You divide by v_t itself (Adam without bias correction): keep the running maximum "
                "v̂_t = max(v̂_{t−1}, v_t) and divide by sqrt(v̂_t) + ε.", _amsgrad_no_max),
    ])

QUESTIONS = [ADAM, ADAMAX, NADAM, AMSGRAD]
