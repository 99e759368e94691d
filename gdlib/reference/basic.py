"""Gradient descent, Momentum and Nesterov in plain NumPy (and ``Rule``, the base of every rule)."""

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
