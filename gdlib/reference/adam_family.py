"""Adam and its variants in plain NumPy: Adam, AdaMax, Nadam, AMSGrad, AdamW."""

import numpy as np

from .basic import Rule


class Adam(Rule):
    """Adam (book: eq-adam-moments, eq-adam-correction, eq-adam-update):

    m_t = β1 m_{t−1} + (1 − β1) g_t;  v_t = β2 v_{t−1} + (1 − β2) g_t²
    m̂_t = m_t / (1 − β1^t);  v̂_t = v_t / (1 − β2^t)
    θ_t = θ_{t−1} − η / (sqrt(v̂_t) + ε) m̂_t        (Ruder)
    θ_t = θ_{t−1} − η m̂_t / sqrt(v̂_t + ε)          (You's slides: eps_inside_sqrt)
    """
    def __init__(self, theta, eta, beta1, beta2, eps, eps_inside_sqrt=False, bias_correction=True):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps = eta, beta1, beta2, eps
        self.inside, self.correct = eps_inside_sqrt, bias_correction
        self.m = np.zeros_like(self.theta)
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        b1, b2 = self.c(self.beta1), self.c(self.beta2)
        self.m = b1 * self.m + self.c(1 - self.beta1) * g
        self.v = b2 * self.v + self.c(1 - self.beta2) * g**2
        if self.correct:
            m_hat = self.m / self.c(1 - self.beta1**self.t)
            v_hat = self.v / self.c(1 - self.beta2**self.t)
        else:
            m_hat, v_hat = self.m, self.v
        eps = self.c(self.eps)
        den = np.sqrt(v_hat + eps) if self.inside else np.sqrt(v_hat) + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * m_hat).astype(self.dtype)
        self.theta = self.theta - upd


class AdaMax(Rule):
    """AdaMax (book: eq-adamax-u, eq-adamax):  u_t = max(β2 u_{t−1}, ``|g_t|``);
    θ_t = θ_{t−1} − η m̂_t / u_t.

    eps_placement="max": u_t = max(β2 u_{t−1}, ``|g_t|`` + ε) (PyTorch docs)
    eps_placement="denominator": θ_t = θ_{t−1} − η m̂_t / (u_t + ε) (Keras docs)
    """
    def __init__(self, theta, eta, beta1, beta2, eps=0.0, eps_placement="max"):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps, self.placement = eta, beta1, beta2, eps, eps_placement
        self.m = np.zeros_like(self.theta)
        self.u = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        b1, b2, eps = self.c(self.beta1), self.c(self.beta2), self.c(self.eps)
        self.m = b1 * self.m + self.c(1 - self.beta1) * g
        m_hat = self.m / self.c(1 - self.beta1**self.t)
        if self.placement == "max":
            self.u = np.maximum(b2 * self.u, np.abs(g) + eps)
            den = self.u
        else:
            self.u = np.maximum(b2 * self.u, np.abs(g))
            den = self.u + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * m_hat).astype(self.dtype)
        self.theta = self.theta - upd


class Nadam(Rule):
    """Nadam (book: eq-nadam, eq-nadam-template).

    Four forms::

        seed (Ruder): θ_t = θ_{t−1} − η / (sqrt(v̂_t) + ε) (β1 m̂_t + (1 − β1) g_t / (1 − β1^t))
        Dozat (2016), Algorithm 2, with μ_t = β1 (1 − ½ 0.96^{tψ}):
          ĝ = g_t / (1 − Π_{i≤t} μ_i);  m_t = μ_t m_{t−1} + (1 − μ_t) g_t;
          m̂ = m_t / (1 − Π_{i≤t+1} μ_i);  m̄ = (1 − μ_t) ĝ + μ_{t+1} m̂
        PyTorch's NAdam docs: as Dozat, but m_t = β1 m_{t−1} + (1 − β1) g_t
        optax's nadam: constant β1, β1 m_t / (1 − β1^{t+1}) + (1 − β1) g_t / (1 − β1^t)
        eps_inside_sqrt=True: sqrt(v̂_t + ε) instead of sqrt(v̂_t) + ε (as for Adam)

    ``form`` picks one of them.
    """
    def __init__(self, theta, eta, beta1, beta2, eps, form="seed", psi=0.004, eps_inside_sqrt=False):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps, self.form, self.psi = eta, beta1, beta2, eps, form, psi
        self.inside = eps_inside_sqrt
        self.m = np.zeros_like(self.theta)
        self.v = np.zeros_like(self.theta)
        self.mu_prod = 1.0

    def mu(self, t):
        return self.beta1 * (1 - 0.5 * 0.96 ** (t * self.psi))

    def step(self, g):
        self.t += 1
        t, b1, b2 = self.t, self.beta1, self.beta2
        self.v = self.c(b2) * self.v + self.c(1 - b2) * g**2
        v_hat = self.v / self.c(1 - b2**t)
        if self.form == "seed":
            self.m = self.c(b1) * self.m + self.c(1 - b1) * g
            m_hat = self.m / self.c(1 - b1**t)
            direction = self.c(b1) * m_hat + self.c((1 - b1) / (1 - b1**t)) * g
        elif self.form == "optax":
            self.m = self.c(b1) * self.m + self.c(1 - b1) * g
            direction = self.c(b1 / (1 - b1 ** (t + 1))) * self.m + self.c((1 - b1) / (1 - b1**t)) * g
        else:
            mu, mu_next = self.mu(t), self.mu(t + 1)
            self.mu_prod *= mu
            decay = mu if self.form == "dozat" else b1
            self.m = self.c(decay) * self.m + self.c(1 - decay) * g
            g_hat_coef = (1 - mu) / (1 - self.mu_prod)
            m_hat_coef = mu_next / (1 - self.mu_prod * mu_next)
            direction = self.c(m_hat_coef) * self.m + self.c(g_hat_coef) * g
        eps = self.c(self.eps)
        den = np.sqrt(v_hat + eps) if self.inside else np.sqrt(v_hat) + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * direction).astype(self.dtype)
        self.theta = self.theta - upd


class AMSGrad(Rule):
    """AMSGrad (book: eq-amsgrad): m_t, v_t as Adam;  v̂_t = max(v̂_{t−1}, v_t);
    θ_t = θ_{t−1} − η / (sqrt(v̂_t) + ε) m_t.

    PyTorch docs (amsgrad=True): max over raw v_t, then divide by (1 − β2^t), m by (1 − β1^t)
    optax amsgrad: v̂_t = max(v̂_{t−1}, v_t / (1 − β2^t)), m by (1 − β1^t)
    eps_inside_sqrt=True: sqrt(v̂_t + ε) instead of sqrt(v̂_t) + ε (as for Adam)
    """
    def __init__(self, theta, eta, beta1, beta2, eps, bias_correction=False, max_of="raw", eps_inside_sqrt=False):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps = eta, beta1, beta2, eps
        self.correct, self.max_of, self.inside = bias_correction, max_of, eps_inside_sqrt
        self.m = np.zeros_like(self.theta)
        self.v = np.zeros_like(self.theta)
        self.v_hat = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        b1, b2 = self.c(self.beta1), self.c(self.beta2)
        self.m = b1 * self.m + self.c(1 - self.beta1) * g
        self.v = b2 * self.v + self.c(1 - self.beta2) * g**2
        if not self.correct:
            self.v_hat = np.maximum(self.v_hat, self.v)
            m_used, v_used = self.m, self.v_hat
        elif self.max_of == "raw":
            self.v_hat = np.maximum(self.v_hat, self.v)
            m_used = self.m / self.c(1 - self.beta1**self.t)
            v_used = self.v_hat / self.c(1 - self.beta2**self.t)
        else:
            self.v_hat = np.maximum(self.v_hat, self.v / self.c(1 - self.beta2**self.t))
            m_used = self.m / self.c(1 - self.beta1**self.t)
            v_used = self.v_hat
        eps = self.c(self.eps)
        den = np.sqrt(v_used + eps) if self.inside else np.sqrt(v_used) + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * m_used).astype(self.dtype)
        self.theta = self.theta - upd


class AdamW(Rule):
    """AdamW (Loshchilov and Hutter; PyTorch's order): decay first, then Adam's step:

    θ' = (1 − η λ) θ_{t−1};  m_t, v_t, m̂_t, v̂_t as Adam
    θ_t = θ' − η m̂_t / (sqrt(v̂_t) + ε)
    """
    def __init__(self, theta, eta, beta1, beta2, eps, weight_decay):
        super().__init__(theta)
        self.eta, self.beta1, self.beta2, self.eps, self.weight_decay = eta, beta1, beta2, eps, weight_decay
        self.m = np.zeros_like(self.theta)
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        self.theta = self.c(1 - self.eta * self.weight_decay) * self.theta
        b1, b2 = self.c(self.beta1), self.c(self.beta2)
        self.m = b1 * self.m + self.c(1 - self.beta1) * g
        self.v = b2 * self.v + self.c(1 - self.beta2) * g**2
        m_hat = self.m / self.c(1 - self.beta1**self.t)
        v_hat = self.v / self.c(1 - self.beta2**self.t)
        den = np.sqrt(v_hat) + self.c(self.eps)
        with np.errstate(invalid="ignore", divide="ignore"):
            upd = np.where(den == 0, 0, self.c(self.eta) / den * m_hat).astype(self.dtype)
        self.theta = self.theta - upd
