"""Pictures of optimizers: paths on contours, loss curves, sweeps, animations, explorers.

One style for the whole course: every optimizer keeps its colour and line
style in every figure (:data:`STYLE`). The colours are Paul Tol's "muted"
scheme, chosen to stay distinguishable with the common forms of colour
blindness, plus black for plain gradient descent; the line styles tell the
curves apart in greyscale too.

Import it explicitly (``import gdlib.plots``): gdlib itself does not need
matplotlib.
"""

from __future__ import annotations

import re
import zlib

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation, colors

from .surfaces import SURFACES

#: name → (colour, line style) for every optimizer of the course.
STYLE = {
    "SGD": ("#000000", "-"),
    "Momentum": ("#CC6677", "--"),
    "Nesterov": ("#882255", "-."),
    "Adagrad": ("#117733", "-"),
    "Adadelta": ("#999933", "--"),
    "RMSprop": ("#44AA99", "-."),
    "Adam": ("#332288", "-"),
    "AdaMax": ("#88CCEE", "--"),
    "Nadam": ("#AA4499", "-."),
    "AMSGrad": ("#DDCC77", ":"),
    "AdamW": ("#EE7733", ":"),  # Tol's "vibrant" orange: the muted scheme has no colour left
    "LARS": ("#009988", "--"),  # Tol's "vibrant" teal
    "LAMB": ("#EE3377", "-"),  # Tol's "vibrant" magenta
}
_EXTRA = ["#555555", "#BBBBBB", "#E69F00", "#56B4E9"]


def style_for(label):
    """(colour, line style) for a label: the optimizer's own if the label starts with its name."""
    for name in sorted(STYLE, key=len, reverse=True):
        if str(label).startswith(name):
            return STYLE[name]
    return _EXTRA[zlib.crc32(str(label).encode()) % len(_EXTRA)], "-"  # the same colour in every run


def graded(labels, cmap="viridis"):
    """Styles for runs of one method with a varying setting: colours along a
    perceptually uniform map (readable with colour blindness), one line style each."""
    labels = list(labels)
    colours = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, len(labels)))
    lines = ["-", "--", "-.", ":"]
    return {label: (colours[i], lines[i % len(lines)]) for i, label in enumerate(labels)}


def _style(label, styles):
    return styles[label] if styles and label in styles else style_for(label)


def _surface(surface):
    return SURFACES[surface] if isinstance(surface, str) else surface


def contours(surface, ax=None, *, n=300, levels=30, window=None):
    """Filled log-spaced contours of a surface, with its minima marked by stars."""
    surface = _surface(surface)
    ax = ax or plt.subplots(figsize=(6, 4.5))[1]
    X, Y, Z = surface.grid(n, window)
    if np.isfinite(surface.minimum_value) and np.all(Z >= surface.minimum_value):
        shifted = Z - surface.minimum_value + 1e-3
        lv = np.geomspace(shifted.min(), shifted.max(), levels)
        ax.contourf(X, Y, shifted, levels=lv, norm=colors.LogNorm(), cmap="Greys_r", alpha=0.55)
        ax.contour(X, Y, shifted, levels=lv, colors="k", linewidths=0.3, alpha=0.5)
    else:
        ax.contourf(X, Y, Z, levels=levels, cmap="Greys_r", alpha=0.55)
        ax.contour(X, Y, Z, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
    for m in surface.minima + surface.local_minima:
        ax.plot(*m, marker="*", color="k", markersize=12, linestyle="none")
    (x0, x1), (y0, y1) = window or surface.window
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    return ax


def paths(surface, runs, ax=None, *, window=None, legend=True, markevery=None, styles=None):
    """Contours of ``surface`` with one path per run.

    ``runs`` maps a label ("Adam", "Momentum γ=0.9", ...) to a trajectory
    result (anything with ``.trajectory``) or an (n, 2) array of points.
    Labels that start with an optimizer's name get its colour; ``styles``
    (label → (colour, line style), e.g. from :func:`graded`) overrides that.
    """
    ax = contours(surface, ax, window=window)
    for label, run in runs.items():
        points = np.asarray(getattr(run, "trajectory", run))
        colour, line = _style(label, styles)
        ax.plot(points[:, 0], points[:, 1], line, color=colour, lw=1.8, label=label, markevery=markevery)
        ax.plot(*points[0], "o", color=colour, markersize=4)
        ax.plot(*points[-1], "x", color=colour, markersize=7, mew=2)
    if legend:
        ax.legend(loc="best", fontsize=8, framealpha=0.85)
    return ax


def loss_curves(curves, ax=None, *, x=None, log=True, xlabel="step", ylabel="loss", styles=None):
    """One curve per label; values may be arrays or ``History`` objects (their train loss)."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, values in curves.items():
        values = np.asarray(getattr(values, "train_loss", values), dtype=float)
        colour, line = _style(label, styles)
        ax.plot(np.arange(len(values)) if x is None else x, values, line, color=colour, lw=1.6, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def sweep(etas, results, ax=None, *, ylabel="final loss", log_y=True, styles=None):
    """A learning-rate sweep: ``results`` maps a label to one value per η in ``etas``
    (NaN or inf marks a run that diverged; it is drawn as a gap with a cross)."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    etas = np.asarray(etas, dtype=float)
    for label, values in results.items():
        values = np.asarray(values, dtype=float)
        colour, line = _style(label, styles)
        ok = np.isfinite(values)
        ax.plot(etas, np.where(ok, values, np.nan), line, marker="o", ms=3, color=colour, label=label)
        if (~ok).any():
            top = np.nanmax(values[ok]) if ok.any() else 1.0
            ax.plot(etas[~ok], np.full((~ok).sum(), top), "x", color=colour, ms=8, mew=2)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def animate(surface, runs, *, frames=120, interval=50, window=None, figsize=(6, 4.5), tail=None, styles=None):
    """An animation of the runs racing on the contours of ``surface``.

    Each run's path is sampled at ``frames`` evenly spaced steps, so runs of any
    length fit. Returns a matplotlib ``FuncAnimation``; :func:`to_html` turns it
    into self-contained HTML and JavaScript that plays in a static page.
    """
    fig, ax = plt.subplots(figsize=figsize)
    contours(surface, ax, window=window)
    lines, heads, pts = [], [], []
    for label, run in runs.items():
        points = np.asarray(getattr(run, "trajectory", run))
        colour, line = _style(label, styles)
        (ln,) = ax.plot([], [], line, color=colour, lw=1.8, label=label)
        (hd,) = ax.plot([], [], "o", color=colour, ms=6)
        lines.append(ln)
        heads.append(hd)
        pts.append(points)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    longest = max(len(p) for p in pts)
    sample = np.unique(np.linspace(0, longest - 1, frames).astype(int))
    title = ax.set_title("")

    def draw(k):
        step = sample[k]
        for ln, hd, p in zip(lines, heads, pts):
            upto = min(step, len(p) - 1)
            start = 0 if tail is None else max(0, upto - tail)
            ln.set_data(p[start : upto + 1, 0], p[start : upto + 1, 1])
            hd.set_data([p[upto, 0]], [p[upto, 1]])
        title.set_text(f"step {step}")
        return [*lines, *heads, title]

    anim = animation.FuncAnimation(fig, draw, frames=len(sample), interval=interval, blit=True)
    plt.close(fig)
    return anim


def to_html(anim, *, dpi=72, frame_format="jpeg", embed_limit_mb=40):
    """Self-contained HTML/JavaScript for an animation, its frames embedded as images.

    JPEG frames at 72 dpi take about 30 kB each (PNG about 80 kB: the shaded
    contours compress poorly), so a 100-frame race adds some 3 MB to a page.
    """
    anim._fig.set_dpi(dpi)
    with matplotlib.rc_context({"animation.frame_format": frame_format,
                                "animation.embed_limit": embed_limit_mb}):
        html = anim.to_jshtml(default_mode="once")
    # matplotlib's player takes its button icons from a font on a CDN; a page
    # that must work offline gets plain Unicode symbols instead.
    html = re.sub(r'<link rel="stylesheet"\s*href="https?://[^"]*font-awesome[^"]*">', "", html)
    return re.sub(r'<i class="fa (fa-[a-z-]+)( fa-flip-horizontal)?"></i>',
                  lambda m: _PLAYER_SYMBOLS["reverse" if m.group(2) else m.group(1)], html)


_PLAYER_SYMBOLS = {
    "fa-fast-backward": "&#x23EE;", "fa-step-backward": "&#x23F4;&#x2759;", "reverse": "&#x25C0;",
    "fa-pause": "&#x23F8;", "fa-play": "&#x25B6;", "fa-step-forward": "&#x2759;&#x23F5;",
    "fa-fast-forward": "&#x23ED;", "fa-minus": "&#x2212;", "fa-plus": "+",
}


def explorer(surface="beale", n_steps=500):
    """An ipywidgets explorer: choose optimizer, η, β1/γ, β2 and start; the path redraws.

    In a live notebook the plot follows the controls, for any value. The static
    book shows :func:`gdlib.explore.race` instead, whose controls pick among
    runs computed over a grid when the book was built.
    """
    import ipywidgets as w
    from IPython.display import display

    from . import optim
    from .explore import make_optimizer
    from .trajectory import trajectory

    surf = _surface(surface)
    names = [c.__name__ for c in optim.ALL]
    (x0, x1), (y0, y1) = surf.window
    controls = dict(
        name=w.Dropdown(options=names, value="Adam", description="optimizer"),
        log_eta=w.FloatSlider(value=-2.0, min=-5.0, max=0.0, step=0.1, description="log10 η"),
        beta1=w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β1 / γ"),
        beta2=w.FloatSlider(value=0.999, min=0.5, max=0.9999, step=0.0001, readout_format=".4f",
                            description="β2"),
        x=w.FloatSlider(value=float(surf.start[0]), min=x0, max=x1, step=0.05, description="start x"),
        y=w.FloatSlider(value=float(surf.start[1]), min=y0, max=y1, step=0.05, description="start y"),
    )
    out = w.Output()

    def redraw(*_):
        values = {k: c.value for k, c in controls.items()}
        opt = make_optimizer(values["name"], values["log_eta"], values["beta1"], values["beta2"])
        run = trajectory(opt, surf, (values["x"], values["y"]), n_steps)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 4.5))
            paths(surf, {f"{values['name']} ({run.status}, J={run.values[-1]:.3g})": run}, ax)
            plt.show()

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([controls["name"], controls["log_eta"]]), w.HBox([controls["beta1"], controls["beta2"]]),
                  w.HBox([controls["x"], controls["y"]]), out])
    display(box)
    return box
