"""Per-coordinate learning rates in plain NumPy: Adagrad, Adadelta, RMSprop."""

import numpy as np

from .basic import Rule


class Adagrad(Rule):
    """Adagrad (book: eq-adagrad):  G_t = G_{t−1} + g_t²;  θ_t = θ_{t−1} − η / sqrt(G_t + ε) ⊙ g_t.

    Options: sqrt(G_t) + ε; a starting G_0; PyTorch's rate η / (1 + (t − 1) lr_decay).
    """
    def __init__(self, theta, eta, eps, eps_inside_sqrt=True, G0=0.0, lr_decay=0.0):
        super().__init__(theta)
        self.eta, self.eps, self.inside, self.lr_decay = eta, eps, eps_inside_sqrt, lr_decay
        self.G = np.full_like(self.theta, G0)

    def step(self, g):
        self.t += 1
        eta = self.c(self.eta / (1 + (self.t - 1) * self.lr_decay))
        eps = self.c(self.eps)
        self.G = self.G + g * g
        den = np.sqrt(self.G + eps) if self.inside else np.sqrt(self.G) + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, eta / den * g).astype(self.dtype)
        self.theta = self.theta - upd


class Adadelta(Rule):
    """Adadelta (book: eq-adadelta-eg2, eq-adadelta, eq-adadelta-edx2), in this order:

    E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t²
    Δθ_t = − RMS[Δθ]_{t−1} / RMS[g]_t · g_t,   RMS[x]_t = sqrt(E[x²]_t + ε)
    E[Δθ²]_t = γ E[Δθ²]_{t−1} + (1 − γ) Δθ_t²
    θ_t = θ_{t−1} + η Δθ_t   (η = 1 in the seed; frameworks keep an η)
    """
    def __init__(self, theta, gamma, eps, eta=1.0):
        super().__init__(theta)
        self.gamma, self.eps, self.eta = gamma, eps, eta
        self.Eg2 = np.zeros_like(self.theta)
        self.Edelta2 = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        gamma, eps = self.c(self.gamma), self.c(self.eps)
        self.Eg2 = gamma * self.Eg2 + self.c(1 - self.gamma) * g**2
        rms_g = np.sqrt(self.Eg2 + eps)
        rms_delta_prev = np.sqrt(self.Edelta2 + eps)
        delta = -(rms_delta_prev / rms_g) * g
        self.Edelta2 = gamma * self.Edelta2 + self.c(1 - self.gamma) * delta**2
        self.theta = self.theta + self.c(self.eta) * delta


class RMSprop(Rule):
    """RMSprop (book: eq-rmsprop):  E[g²]_t = γ E[g²]_{t−1} + (1 − γ) g_t²;
    θ_t = θ_{t−1} − η / sqrt(E[g²]_t + ε) g_t   (eps_inside_sqrt=False: sqrt(E[g²]_t) + ε).
    """
    def __init__(self, theta, eta, gamma, eps, eps_inside_sqrt=True):
        super().__init__(theta)
        self.eta, self.gamma, self.eps, self.inside = eta, gamma, eps, eps_inside_sqrt
        self.Eg2 = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        gamma, eps = self.c(self.gamma), self.c(self.eps)
        self.Eg2 = gamma * self.Eg2 + self.c(1 - self.gamma) * g**2
        den = np.sqrt(self.Eg2 + eps) if self.inside else np.sqrt(self.Eg2) + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * g).astype(self.dtype)
        self.theta = self.theta - upd
