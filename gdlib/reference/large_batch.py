"""Layer-wise trust ratios in plain NumPy: ``trust_ratios``, LARS and LAMB."""

import math

import numpy as np

from .._checks import layer_pairs
from .basic import Rule


def _norm(x):
    """‖x‖ in float64 by ``math.hypot``, which scales its arguments: no overflow
    of the squares for entries near 10^200, no underflow near 10^-200."""
    return math.hypot(*np.asarray(x, dtype=np.float64).ravel())


def trust_ratios(theta_layers, update_layers):
    """LAMB's trust ratio per layer (You et al., 2020; the large-batch chapter):

    r_l = ‖θ_l‖ / ‖u_l‖,  and r_l = 1 where ‖θ_l‖ = 0 or ‖u_l‖ = 0 (optax's convention),

    with θ_l the parameters of layer l and u_l its update direction (Adam's
    m̂/(√v̂ + ε) plus the decay λθ_l); LAMB's step is θ_l ← θ_l − η r_l u_l.
    Returns one ratio per layer, as a float64 array.

    The independent transcription that the tests compare gdlib's
    ``gdlib.optim.lamb.trust_ratios`` with (that one uses gdlib's compiled,
    blocked norms). Only the validation is shared (``gdlib._checks.layer_pairs``),
    so that both reject the same input with the same message.
    """
    pairs = layer_pairs(theta_layers, update_layers)
    ratios = np.ones(len(pairs))
    for i, (theta, u) in enumerate(pairs):
        w, n = _norm(theta), _norm(u)
        if w > 0 and n > 0:
            ratios[i] = w / n
    return ratios


def _layer_slices(theta, segments):
    """[(slice, decay, trust)] for the flat θ; ``segments`` is None (one layer) or
    a list of (start, stop, decay, trust)."""
    if segments is None:
        return [(slice(0, theta.size), True, True)]
    return [(slice(a, b), d, r) for a, b, d, r in segments]


class LARS(Rule):
    """LARS (You, Gitman and Ginsburg 2017, Algorithm 1; book: eq-lars-ratio, eq-lars-step), per layer l:

    u_t = g_t + λ θ_{t−1}
    r_t = c ‖θ_{t−1}‖ / (‖g_t‖ + λ ‖θ_{t−1}‖ + ε)   (form "paper"; "optax": c ‖θ_{t−1}‖ / (‖u_t‖ + ε))
    v_t = γ v_{t−1} + η r_t u_t;   θ_t = θ_{t−1} − v_t   (Nesterov: θ_t = θ_{t−1} − η r_t u_t − γ v_t)

    r_t = 1 if a norm is 0 or the layer's trust flag is off; λ = 0 if its decay flag is off.
    """
    def __init__(self, theta, eta, gamma, weight_decay=0.0, trust_coefficient=0.001, eps=0.0,
                 nesterov=False, form="paper", segments=None):
        super().__init__(theta)
        self.eta, self.gamma, self.weight_decay = eta, gamma, weight_decay
        self.trust_coefficient, self.eps, self.nesterov, self.form = trust_coefficient, eps, nesterov, form
        self.segments = segments
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        theta, v, g = self.theta.reshape(-1).copy(), self.v.reshape(-1), np.asarray(g).reshape(-1)
        for part, decay, trust in _layer_slices(theta, self.segments):
            lam = self.weight_decay if decay else 0.0
            th = theta[part].astype(np.float64)
            u = g[part] + self.c(lam) * theta[part]
            ratio = 1.0
            if trust:
                norm_theta = _norm(th)
                if self.form == "paper":
                    den = _norm(g[part]) + lam * norm_theta
                else:
                    den = _norm(u)
                if norm_theta > 0 and den > 0:
                    ratio = self.trust_coefficient * norm_theta / (den + self.eps)
            step = self.c(self.eta * ratio) * u
            v[part] = self.c(self.gamma) * v[part] + step
            theta[part] -= step + self.c(self.gamma) * v[part] if self.nesterov else v[part]
        self.theta = theta.reshape(self.theta.shape)


class LAMB(Rule):
    """LAMB (You et al. 2020, Algorithm 2 with φ the identity; book: eq-lamb-u, eq-lamb-step), per layer l:

    m_t, v_t, m̂_t, v̂_t as Adam (m_t, v_t themselves if bias_correction is False)
    u_t = m̂_t / (sqrt(v̂_t) + ε) + λ θ_{t−1}
    θ_t = θ_{t−1} − η (‖θ_{t−1}‖ / ‖u_t‖) u_t

    The ratio is 1 if a norm is 0 or the layer's trust flag is off; λ = 0 if its decay flag is off.
    """
    def __init__(self, theta, eta, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0, bias_correction=True,
                 segments=None):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps, self.weight_decay = eta, beta1, beta2, eps, weight_decay
        self.bias_correction, self.segments = bias_correction, segments
        self.m = np.zeros_like(self.theta)
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        b1, b2 = self.c(self.beta1), self.c(self.beta2)
        self.m = b1 * self.m + self.c(1 - self.beta1) * g
        self.v = b2 * self.v + self.c(1 - self.beta2) * g**2
        m_hat, v_hat = self.m, self.v
        if self.bias_correction:
            m_hat = self.m * self.c(1 / (1 - self.beta1**self.t))
            v_hat = self.v * self.c(1 / (1 - self.beta2**self.t))
        adam = (m_hat / (np.sqrt(v_hat) + self.c(self.eps))).reshape(-1)
        theta = self.theta.reshape(-1).copy()
        for part, decay, trust in _layer_slices(theta, self.segments):
            u = adam[part] + self.c(self.weight_decay if decay else 0.0) * theta[part]
            norm_theta, norm_u = _norm(theta[part]), _norm(u)
            ratio = norm_theta / norm_u if trust and norm_theta > 0 and norm_u > 0 else 1.0
            theta[part] -= self.c(self.eta * ratio) * u
        self.theta = theta.reshape(self.theta.shape)
