"""The update rules in plain NumPy: independent transcriptions of the seed equations.

The book shows these first, as the readable form of each rule (named
arguments, one line per equation), and gdlib's compiled kernels second, as the
fast version; ``tests/test_reference.py`` checks after every step, in float64
and float32, that the two agree.

Written straight from the seed documents (Ruder's overview; You's slides
where marked), one small class per update rule, with none of gdlib's code.
Each ``step(g)`` applies one update to ``self.theta`` and returns nothing;
the state is kept in attributes named as gdlib names them, so tests can
compare everything after every step. Options follow the frameworks'
documented formulas where the seed is silent.

The only convention not in the seed: a 0/0 in AdaMax's m_t / u_t (every
gradient so far exactly zero) is taken as 0, the limit of the update.
"""

import numpy as np


class Rule:
    """What every rule keeps: θ (a copy, updated in place by ``step``), the step count t, and θ's dtype."""

    def __init__(self, theta):
        self.theta = np.array(theta, copy=True)
        self.t = 0
        self.dtype = self.theta.dtype

    def c(self, x):
        """A hyperparameter, or a coefficient such as 1 − β computed in float64,
        as a scalar of the parameter dtype (1 − β2 in float32 arithmetic would
        lose five digits to cancellation; frameworks compute it in float64 too)."""
        return self.dtype.type(x)


class SGD(Rule):
    """Gradient descent (book: eq-gd):  θ_t = θ_{t−1} − η g_t."""
    def __init__(self, theta, eta):
        super().__init__(theta)
        self.eta = eta

    def step(self, g):
        self.t += 1
        self.theta = self.theta - self.c(self.eta) * g


class Momentum(Rule):
    """Momentum (book: eq-momentum):  v_t = γ v_{t−1} + η g_t;  θ_t = θ_{t−1} − v_t.

    eta_inside_velocity=False: b_t = γ b_{t−1} + g_t;  θ_t = θ_{t−1} − η b_t (PyTorch docs).
    Keras's form is the seed's with v negated.
    """
    def __init__(self, theta, eta, gamma, eta_inside_velocity=True):
        super().__init__(theta)
        self.eta, self.gamma, self.inside = eta, gamma, eta_inside_velocity
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        eta, gamma = self.c(self.eta), self.c(self.gamma)
        if self.inside:
            self.v = gamma * self.v + eta * g
            self.theta = self.theta - self.v
        else:
            self.v = gamma * self.v + g
            self.theta = self.theta - eta * self.v


class NesterovShifted(Rule):
    """NAG in the shifted form (book: eq-nag-shifted), Dozat's rewriting in the seed:
    v_t = γ v_{t−1} + η g_t;  φ_t = φ_{t−1} − (γ v_t + η g_t), g_t taken at φ_{t−1}.
    """
    def __init__(self, theta, eta, gamma, eta_inside_velocity=True):
        super().__init__(theta)
        self.eta, self.gamma, self.inside = eta, gamma, eta_inside_velocity
        self.v = np.zeros_like(self.theta)

    def step(self, g):
        self.t += 1
        eta, gamma = self.c(self.eta), self.c(self.gamma)
        if self.inside:
            self.v = gamma * self.v + eta * g
            self.theta = self.theta - (gamma * self.v + eta * g)
        else:
            self.v = gamma * self.v + g
            self.theta = self.theta - eta * (gamma * self.v + g)


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


def trust_ratios(theta_layers, update_layers):
    """LAMB's trust ratio per layer (You et al., 2020; the large-batch chapter):

    r_l = ‖θ_l‖ / ‖u_l‖,  and r_l = 1 where ‖θ_l‖ = 0 or ‖u_l‖ = 0 (optax's convention),

    with θ_l the parameters of layer l and u_l its update direction (Adam's
    m̂/(√v̂ + ε) plus the decay λθ_l); LAMB's step is θ_l ← θ_l − η r_l u_l.
    Returns one ratio per layer, as a float64 array.
    """
    if len(theta_layers) != len(update_layers):
        raise ValueError(f"theta_layers has {len(theta_layers)} layers and update_layers {len(update_layers)}; "
                         "give one update per layer")
    ratios = np.ones(len(theta_layers))
    for i, (theta, u) in enumerate(zip(theta_layers, update_layers)):
        w = np.sqrt(np.sum(np.square(np.asarray(theta, dtype=np.float64))))
        n = np.sqrt(np.sum(np.square(np.asarray(u, dtype=np.float64))))
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
                norm_theta = np.linalg.norm(th)
                if self.form == "paper":
                    den = np.linalg.norm(g[part].astype(np.float64)) + lam * norm_theta
                else:
                    den = np.linalg.norm(u.astype(np.float64))
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
            norm_theta, norm_u = np.linalg.norm(theta[part].astype(np.float64)), np.linalg.norm(u.astype(np.float64))
            ratio = norm_theta / norm_u if trust and norm_theta > 0 and norm_u > 0 else 1.0
            theta[part] -= self.c(self.eta * ratio) * u
        self.theta = theta.reshape(self.theta.shape)
