"""Assignment ``momentum_nesterov``: momentum and Nesterov's accelerated gradient (step questions), and
the heavy ball's dynamics on a quadratic (its tuned pair and its rate, against gdlib.dynamics).

Each reference is gdlib's optimizer; each mistake is a small NumPy transcription of the wrong rule,
called like the reference (see :mod:`autograde.steps` for the calling convention).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import gdlib
from gdlib.dynamics import momentum_rate, optimal_momentum

from ..runner import Case, Mistake, Question, seed
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



# ------------------------------------------------------ momentum's dynamics
def _rotated(eigenvalues, name):
    """A = Q diag(λ) Qᵀ with a fixed random rotation Q: its diagonal is not its spectrum."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    q, _ = np.linalg.qr(np.random.default_rng(seed("rotated", name)).standard_normal((lam.size, lam.size)))
    A = (q * lam) @ q.T
    return (A + A.T) / 2


def tuned_ref(A):
    return tuple(optimal_momentum(A))


def _tuned_from(mu, L, *, kappa_root=True, square=True, rate_is_gamma=False, gd_step=False):
    k = L / mu
    root = np.sqrt(k) if kappa_root else k
    r = (root - 1.0) / (root + 1.0)
    gamma = r**2 if square else r
    eta = 2.0 / (L + mu) if gd_step else (2.0 / (np.sqrt(L) + np.sqrt(mu))) ** 2
    return eta, gamma, gamma if rate_is_gamma else r


def _tuned_variant(A, **wrong):
    lam = np.linalg.eigvalsh(A)
    return _tuned_from(lam[0], lam[-1], **wrong)


def _tuned_largest_only(A):
    L = np.linalg.eigvalsh(A)[-1]
    return _tuned_from(L, L)


def _tuned_diagonal(A):
    d = np.diag(A)
    return _tuned_from(d.min(), d.max())


_TUNED_CASES = [("2-D, κ = 10", [1.0, 10.0]), ("3-D, κ = 100", [0.5, 3.0, 50.0]),
                ("5-D, κ = 40", [0.25, 1.0, 2.0, 7.0, 10.0]), ("4-D, κ = 1000", [0.002, 0.3, 1.1, 2.0])]

TUNED_HEAVY_BALL = Question(
    function="tuned_heavy_ball", points=3, reference=tuned_ref, outputs=("eta", "gamma", "rate"), unchanged=(0,),
    inplace_advice="Do not modify A: compute its eigenvalues into a new array.",
    cases=[Case(name, (_rotated(lam, name),)) for name, lam in _TUNED_CASES],
    mistakes=[
        Mistake("kappa_not_sqrt", "Momentum's tuning uses the square root of the condition number: "
                "γ* = ((√κ − 1)/(√κ + 1))² and the rate (√κ − 1)/(√κ + 1); (κ − 1)/(κ + 1) is gradient "
                "descent's rate.", partial(_tuned_variant, kappa_root=False)),
        Mistake("gamma_not_squared", "γ* is the square of (√κ − 1)/(√κ + 1): the rate is √γ*, so γ* = rate².",
                partial(_tuned_variant, square=False)),
        Mistake("rate_is_gamma", "The rate is √γ* = (√κ − 1)/(√κ + 1), not γ* itself: with complex roots every "
                "eigenvalue of the iteration has modulus √γ.", partial(_tuned_variant, rate_is_gamma=True)),
        Mistake("gd_step", "η = 2/(L + μ) is gradient descent's tuned step; the heavy ball's is "
                "η* = (2/(√L + √μ))².", partial(_tuned_variant, gd_step=True)),
        Mistake("largest_only", "You used the largest eigenvalue L alone: the tuning needs the smallest one μ too "
                "(κ = L/μ).", _tuned_largest_only),
        Mistake("diagonal", "You read the diagonal of A as its eigenvalues: that holds only for a diagonal A. "
                "Take μ and L from numpy.linalg.eigvalsh(A).", _tuned_diagonal),
    ])


def heavy_ball_rate_ref(eta, gamma, A):
    return momentum_rate(eta, gamma, np.linalg.eigvalsh(A))


def _rate_sqrt_gamma(eta, gamma, A):
    return np.sqrt(gamma)


def _rate_gd(eta, gamma, A):
    return np.max(np.abs(1.0 - eta * np.linalg.eigvalsh(A)))


def _rate_diagonal(eta, gamma, A):
    return momentum_rate(eta, gamma, np.diag(A))


def _rate_extremes_only(eta, gamma, A):
    lam = np.linalg.eigvalsh(A)
    return momentum_rate(eta, gamma, lam[[-1]])


_RATE_CASES = [("over-damped, γ = 0.1", 0.04, 0.1, [1.0, 4.0, 9.0]),
               ("mixed regimes, γ = 0.5", 0.05, 0.5, [0.2, 1.0, 30.0, 50.0]),
               ("beyond the limit: diverges", 0.2, 0.3, [0.5, 2.0, 14.0]),
               ("small curvature over-damped, γ = 0.6", 0.4, 0.6, [0.01, 1.0, 4.0])]

HEAVY_BALL_RATE = Question(
    function="heavy_ball_rate", points=3, reference=heavy_ball_rate_ref, what="rate", unchanged=(2,),
    inplace_advice="Do not modify A: compute its eigenvalues into a new array.",
    cases=[Case(name, (eta, gamma, _rotated(lam, name))) for name, eta, gamma, lam in _RATE_CASES],
    mistakes=[
        Mistake("sqrt_gamma", "√γ is the rate only where both roots are complex; where σ² − (1 + γ − ηλ)σ + γ = 0 "
                "has real roots (over-damped, or beyond the stability limit) the larger |σ| decides. Take the "
                "largest modulus over every eigenvalue λ.", _rate_sqrt_gamma),
        Mistake("gd_rate", "You computed gradient descent's rate max|1 − ηλ|: the heavy ball's iteration has two "
                "roots per curvature, of σ² − (1 + γ − ηλ)σ + γ = 0.", _rate_gd),
        Mistake("diagonal", "You read the diagonal of A as its eigenvalues: that holds only for a diagonal A. "
                "Use numpy.linalg.eigvalsh(A).", _rate_diagonal),
        Mistake("largest_only", "You used the largest eigenvalue L alone: the rate is the largest modulus over "
                "every curvature, and the small ones are often the slowest.", _rate_extremes_only),
    ])

QUESTIONS = [MOMENTUM, NESTEROV, TUNED_HEAVY_BALL, HEAVY_BALL_RATE]
