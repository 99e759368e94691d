"""The explorers of :mod:`gdlib.explore`, computed live in a running notebook (ipywidgets + matplotlib).

The static book shows the precomputed explorers, whose controls move over a
grid; these recompute on every change, so any value of the controls works.
The optimizer race is :func:`gdlib.plots.explorer`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import dynamics
from .explore import adam_step_lengths, make_optimizer, momentum_path
from .plots import STYLE, paths, sweep
from .trajectory import trajectory


def _interact(draw, **controls):
    import ipywidgets as w
    from IPython.display import display

    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            draw(**{k: c.value for k, c in controls.items()})
            plt.show()

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox(list(controls.values())), out])
    display(box)
    return box


def momentum(n_steps=80):
    """The heavy ball on J = ½(θ₁² + κθ₂²): path and error for any η·L, γ and κ, with the predicted rate."""
    import ipywidgets as w

    def draw(eta_L, gamma, kappa):
        eta = eta_L / kappa
        path = momentum_path(kappa, eta, gamma, n_steps)
        rate = dynamics.momentum_rate(eta, gamma, [1.0, kappa])
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        X, Y = np.meshgrid(np.linspace(-1.25, 1.25, 200), np.linspace(-1.25, 1.25, 200))
        a.contour(X, Y, 0.5 * (X**2 + kappa * Y**2), levels=12, colors="0.6", linewidths=0.6)
        a.plot(path[:, 0], path[:, 1], "-o", color=STYLE["Momentum"][0], ms=2)
        a.set_xlim(-1.25, 1.25), a.set_ylim(-1.25, 1.25)
        a.set_title(f"ρ = {rate:.3f}; along μ {dynamics.regime(eta, gamma, 1.0)}, "
                    f"along L {dynamics.regime(eta, gamma, kappa)}", fontsize=9)
        t = np.arange(n_steps + 1)
        with np.errstate(divide="ignore"):
            b.semilogy(t, np.linalg.norm(path, axis=1), color=STYLE["Momentum"][0], label="measured ‖θ_t‖")
        b.semilogy(t, np.hypot(1.0, 1.0) * rate**t, "k--", lw=1, label="ρᵗ‖θ₀‖")
        b.set_ylim(1e-16, 1e4), b.set_xlabel("step t"), b.legend()

    return _interact(draw, eta_L=w.FloatSlider(value=2.2, min=0.05, max=4.0, step=0.01, description="η·L"),
                     gamma=w.FloatSlider(value=0.3, min=0.0, max=0.99, step=0.01, description="γ"),
                     kappa=w.FloatLogSlider(value=10, base=10, min=0, max=3, step=0.05, description="κ"))


def adam_bias(n_steps=300, eta=0.01, seed=0):
    """Adam's steps with and without bias correction for any β1, β2, with the factor (1 − β1ᵗ)/√(1 − β2ᵗ)."""
    import ipywidgets as w

    grads = np.random.default_rng(seed).normal(1.0, 0.5, size=(n_steps, 1))

    def draw(beta1, beta2):
        c, u = (adam_step_lengths(beta1, beta2, grads, eta, flag) for flag in (True, False))
        t = np.arange(1, n_steps + 1)
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
        a.plot(t, c / eta, color=STYLE["Adam"][0], label="with bias correction")
        a.plot(t, u / eta, "--", color=STYLE["RMSprop"][0], label="without")
        a.set_xlabel("step t"), a.set_ylabel("step length / η"), a.legend()
        b.plot(t, u / c, "k", label="measured ratio")
        b.plot(t, (1 - beta1**t) / np.sqrt(1 - beta2**t), ":", color="#CC6677", lw=2.5, label="formula")
        b.set_xlabel("step t"), b.legend()

    return _interact(draw, beta1=w.FloatSlider(value=0.9, min=0.0, max=0.999, step=0.001, description="β1"),
                     beta2=w.FloatSlider(value=0.999, min=0.5, max=0.9999, step=0.0001, readout_format=".4f",
                                         description="β2"))


def lr_sweep(surface="rosenbrock", n_steps=5000):
    """The learning-rate sweep for any optimizer and η range, with the path at the chosen η."""
    import ipywidgets as w

    def draw(name, log_eta):
        etas = np.geomspace(10 ** (log_eta - 2), 10 ** (log_eta + 1), 13)
        final = []
        for eta in etas:
            run = trajectory(make_optimizer(name, np.log10(eta)), surface, None, n_steps)
            final.append(run.values[-1] if run.status == "ok" else np.inf)
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        sweep(etas, {name: final}, a, ylabel=f"J after {n_steps} steps")
        a.axvline(10**log_eta, color="red", lw=1)
        run = trajectory(make_optimizer(name, log_eta), surface, None, n_steps)
        paths(surface, {f"{name} η={10 ** log_eta:.2g} ({run.status})": run}, b)

    return _interact(draw, name=w.Dropdown(options=["SGD", "Momentum", "Nesterov", "RMSprop", "Adam"],
                                           value="SGD", description="optimizer"),
                     log_eta=w.FloatSlider(value=-3.0, min=-5.0, max=0.0, step=0.05, description="log10 η"))
