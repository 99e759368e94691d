"""Momentum's dynamics on a quadratic: iteration matrices, their eigenvalues, rates, tuned pairs.

On J(θ) = ½ θᵀAθ with A symmetric positive definite, every method of the
course acts on each eigendirection of A separately. Along a direction of
curvature λ (an eigenvalue of A), with x_t the coordinate of θ_t and y_t that
of the velocity v_t, the heavy ball of :class:`gdlib.Momentum`

    v_t = γ v_{t−1} + η ∇J(θ_{t−1}),     θ_t = θ_{t−1} − v_t

is the linear map (y_t, x_t) = R(λ) (y_{t−1}, x_{t−1}) with

    R(λ) = [[ γ,  ηλ    ],
            [ −γ, 1 − ηλ ]],

whose eigenvalues ζ solve ζ² − (1 + γ − ηλ) ζ + γ = 0. The rate of the
method is the largest modulus max_λ max|ζ| (the spectral radius of the whole
iteration): after many steps the error shrinks by that factor per step.
Goh (2017, "Why Momentum Really Works") writes the same method with step α
and momentum β and the state z = v/α: α = η, β = γ, and the same eigenvalues.

Nesterov's look-ahead (:class:`gdlib.Nesterov`, gradient at θ_{t−1} − γ v_{t−1})
gives R(λ) = [[γ(1 − ηλ), ηλ], [−γ(1 − ηλ), 1 − ηλ]] and
ζ² − (1 + γ)(1 − ηλ) ζ + γ(1 − ηλ) = 0. Gradient descent is γ = 0: ζ = 1 − ηλ.

Every function takes ``eigenvalues``: the curvatures λ > 0 (for example
``numpy.linalg.eigvalsh(A)``, or just (μ, L), the two that decide the rate).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _checks

REGIMES = ("over-damped", "critical", "oscillating", "sign-flipping", "divergent")


class Tuned(NamedTuple):
    """A tuned method: step η, momentum γ (0 for gradient descent) and the rate they give."""

    eta: float
    gamma: float
    rate: float


def curvatures(eigenvalues):
    """The curvatures λ as a 1-D float64 array, checked: finite and > 0."""
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1) if np.ndim(eigenvalues) <= 1 else None
    if lam is None:
        raise ValueError("eigenvalues must be a number or a 1-D list of curvatures λ; for a matrix A "
                         "pass numpy.linalg.eigvalsh(A), or use spectrum(A)")
    if lam.size == 0:
        raise ValueError("eigenvalues is empty; give at least one curvature λ > 0")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(f"every curvature must be finite and > 0 (a positive definite A), got {lam}")
    return lam


def spectrum(A):
    """(μ, L): the smallest and largest eigenvalue of a symmetric positive definite matrix A."""
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)) or not np.allclose(A, A.T, rtol=1e-12, atol=0.0):
        raise ValueError("A must be a finite symmetric matrix (J = ½ θᵀAθ uses its symmetric part)")
    lam = np.linalg.eigvalsh(A)
    if lam[0] <= 0:
        raise ValueError(f"A must be positive definite; its smallest eigenvalue is {lam[0]:.3g}")
    return float(lam[0]), float(lam[-1])


def _pair(eta, gamma):
    eta = _checks.positive(eta, "eta")
    gamma = _checks.decay_rate(gamma, "gamma")
    return eta, gamma


def momentum_matrix(eta, gamma, lam):
    """R(λ) = [[γ, ηλ], [−γ, 1 − ηλ]]: one heavy-ball step on the state (v, x) along curvature λ."""
    eta, gamma = _pair(eta, gamma)
    (lam,) = curvatures(lam)
    return np.array([[gamma, eta * lam], [-gamma, 1.0 - eta * lam]])


def nesterov_matrix(eta, gamma, lam):
    """R(λ) = [[γ(1 − ηλ), ηλ], [−γ(1 − ηλ), 1 − ηλ]]: one Nesterov step on (v, x) along curvature λ."""
    eta, gamma = _pair(eta, gamma)
    (lam,) = curvatures(lam)
    q = 1.0 - eta * lam
    return np.array([[gamma * q, eta * lam], [-gamma * q, q]])


def _roots(trace, det):
    """Both roots of ζ² − trace·ζ + det = 0, per entry (complex array of shape (n, 2))."""
    disc = (trace * trace - 4.0 * det).astype(complex)
    root = np.sqrt(disc)
    return np.stack([(trace + root) / 2.0, (trace - root) / 2.0], axis=-1)


def momentum_eigenvalues(eta, gamma, eigenvalues):
    """The two eigenvalues ζ of R(λ) for every curvature λ: roots of ζ² − (1 + γ − ηλ)ζ + γ = 0."""
    eta, gamma = _pair(eta, gamma)
    lam = curvatures(eigenvalues)
    return _roots(1.0 + gamma - eta * lam, np.full_like(lam, gamma))


def nesterov_eigenvalues(eta, gamma, eigenvalues):
    """The eigenvalues of Nesterov's R(λ): roots of ζ² − (1 + γ)(1 − ηλ)ζ + γ(1 − ηλ) = 0."""
    eta, gamma = _pair(eta, gamma)
    lam = curvatures(eigenvalues)
    q = 1.0 - eta * lam
    return _roots((1.0 + gamma) * q, gamma * q)


def _modulus(trace, det):
    """max|ζ| over both roots, computed without cancellation: √det when the roots are complex.

    A discriminant within rounding of zero is a double root (|trace|/2 = √det):
    its square root would otherwise turn an error of 1e-16 into one of 1e-8.
    """
    disc = trace * trace - 4.0 * det
    disc = np.where(np.abs(disc) <= 1e-13 * (trace * trace + 4.0 * np.abs(det)), -0.0, disc)
    real = np.abs(trace) / 2.0 + np.sqrt(np.maximum(disc, 0.0)) / 2.0
    return np.where(disc <= 0, np.sqrt(np.abs(det)), real)


def momentum_rate(eta, gamma, eigenvalues):
    """The heavy ball's rate ρ(η, γ) = max over λ of max|ζ|, ζ² − (1 + γ − ηλ)ζ + γ = 0.

    √γ for every direction whose roots are complex; below 1 exactly when
    0 < ηλ < 2(1 + γ) for every λ. A rate ≥ 1 means the run does not converge.
    """
    eta, gamma = _pair(eta, gamma)
    lam = curvatures(eigenvalues)
    return float(np.max(_modulus(1.0 + gamma - eta * lam, np.full_like(lam, gamma))))


def nesterov_rate(eta, gamma, eigenvalues):
    """Nesterov's rate: max over λ of max|ζ|, ζ² − (1 + γ)(1 − ηλ)ζ + γ(1 − ηλ) = 0."""
    eta, gamma = _pair(eta, gamma)
    lam = curvatures(eigenvalues)
    q = 1.0 - eta * lam
    return float(np.max(_modulus((1.0 + gamma) * q, gamma * q)))


def gd_rate(eta, eigenvalues):
    """Gradient descent's rate: the largest abs(1 − ηλ) over the curvatures λ."""
    eta = _checks.positive(eta, "eta")
    return float(np.max(np.abs(1.0 - eta * curvatures(eigenvalues))))


def _condition(A_or_L, mu):
    if mu is None:
        return spectrum(A_or_L)
    L = _checks.positive(A_or_L, "L")
    mu = _checks.positive(mu, "mu")
    if mu > L:
        raise ValueError(f"mu (the smallest curvature, {mu}) must not exceed L (the largest, {L})")
    return mu, L


def optimal_gd(A_or_L, mu=None):
    """Tuned gradient descent: η* = 2/(L + μ), rate (κ − 1)/(κ + 1) with κ = L/μ.

    Pass a symmetric positive definite matrix A, or its largest and smallest eigenvalues L, mu.
    """
    mu, L = _condition(A_or_L, mu)
    kappa = L / mu
    return Tuned(2.0 / (L + mu), 0.0, (kappa - 1.0) / (kappa + 1.0))


def optimal_momentum(A_or_L, mu=None):
    """The tuned heavy ball (Polyak 1964): η* = (2/(√L + √μ))², γ* = ((√κ − 1)/(√κ + 1))².

    Its rate is √γ* = (√κ − 1)/(√κ + 1), against (κ − 1)/(κ + 1) for tuned
    gradient descent. Pass a symmetric positive definite matrix A, or its
    largest and smallest eigenvalues L, mu.
    """
    mu, L = _condition(A_or_L, mu)
    root = np.sqrt(L / mu)
    rate = (root - 1.0) / (root + 1.0)
    return Tuned(float((2.0 / (np.sqrt(L) + np.sqrt(mu))) ** 2), float(rate**2), float(rate))


def nesterov_standard(A_or_L, mu=None):
    """Nesterov's choice for strongly convex J: η = 1/L, γ = (√κ − 1)/(√κ + 1); rate 1 − 1/√κ.

    With this pair the slowest direction λ = μ has a double root 1 − 1/√κ and
    every steeper one has complex roots of smaller modulus.
    """
    mu, L = _condition(A_or_L, mu)
    root = np.sqrt(L / mu)
    return Tuned(1.0 / L, float((root - 1.0) / (root + 1.0)), float(1.0 - 1.0 / root))


def regime(eta, gamma, lam, *, rtol=1e-9):
    """How the heavy ball moves along curvature λ, from the discriminant (1 + γ − ηλ)² − 4γ.

    "over-damped": ηλ < (1 − √γ)², two real positive roots, a monotone approach;
    "critical": ηλ = (1 ∓ √γ)² (within ``rtol``), a double root ±√γ;
    "oscillating": (1 − √γ)² < ηλ < (1 + √γ)², complex roots of modulus √γ (ripples);
    "sign-flipping": (1 + √γ)² < ηλ < 2(1 + γ), a real negative root dominates;
    "divergent": ηλ ≥ 2(1 + γ).
    """
    eta, gamma = _pair(eta, gamma)
    (lam,) = curvatures(lam)
    h, low, high = eta * lam, (1.0 - np.sqrt(gamma)) ** 2, (1.0 + np.sqrt(gamma)) ** 2
    if abs(h - low) <= rtol * max(low, h) or abs(h - high) <= rtol * high:
        return "critical"
    if h < low:
        return "over-damped"
    if h < high:
        return "oscillating"
    return "sign-flipping" if h < 2.0 * (1.0 + gamma) else "divergent"


def iteration_matrix(optimizer, A):
    """The 2n×2n matrix of one step of ``optimizer`` on J = ½ θᵀAθ, measured by probing its update.

    ``optimizer`` is a :class:`gdlib.Momentum`, :class:`gdlib.Nesterov` or
    :class:`gdlib.SGD` (state (v, θ); SGD's v stays 0). Column j is the state
    after one step from the j-th unit state, the gradient A·(look-ahead point)
    coming from the optimizer itself. Its spectral radius is the rate the
    formulas above predict: a check that uses none of them.
    """
    from .optim import SGD, Momentum, Nesterov

    if not isinstance(optimizer, (SGD, Momentum, Nesterov)):
        raise TypeError(f"iteration_matrix takes a gdlib SGD, Momentum or Nesterov, got {type(optimizer).__name__}; "
                        "the adaptive methods are not linear maps on a quadratic")
    A = np.asarray(A, dtype=np.float64)
    spectrum(A)
    n = A.shape[0]
    M = np.empty((2 * n, 2 * n))
    for j in range(2 * n):
        theta = np.zeros(n)
        state = optimizer.init(theta)
        has_v = "v" in optimizer.state_names
        if j < n:
            if not has_v:
                M[:, j] = 0.0
                continue
            state.v[j] = 1.0
        else:
            theta[j - n] = 1.0
        g = A @ optimizer.lookahead(theta, state)
        optimizer.step(theta, g, state)
        M[:n, j] = state.v if has_v else 0.0
        M[n:, j] = theta
    return M
