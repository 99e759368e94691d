"""Explorers that work on the static book: gdlib runs every point of a grid of the controls at build time.

Each function here returns a :class:`gdlib._vega.Explorer`, a Vega-Lite figure
whose sliders and menus pick among runs computed in advance, so moving them
changes the figure on a static page with no Python behind it. The grids are
small on purpose (a page should stay light); :attr:`Explorer.nbytes` says
what each one weighs. In a running notebook, :mod:`gdlib.live` has the same
explorers computed live, for any value of the controls.

* :func:`race`: one optimizer on Beale, Rosenbrock or the saddle (optimizer, log η, β1/γ, β2, start);
* :func:`momentum`: the heavy ball on J = ½(μθ₁² + Lθ₂²) (η, γ, κ), with its rate from :mod:`gdlib.dynamics`;
* :func:`adam_bias`: Adam's steps with and without bias correction (β1, β2, t);
* :func:`lr_sweep`: the learning-rate sweep on Rosenbrock (optimizer, η, budget).
"""

from __future__ import annotations

import numpy as np

from . import _vega as vg
from . import dynamics, optim
from .plots import STYLE
from .surfaces import SURFACES
from .trajectory import trajectory

RACE_OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam")
#: the hyper-parameters each optimizer of the race reads besides η ("b1" is β1 or γ, "b2" is β2 or γ).
USES = {"SGD": (), "Adagrad": (), "Momentum": ("b1",), "Nesterov": ("b1",), "RMSprop": ("b2",), "Adam": ("b1", "b2"),
        "AdaMax": ("b1", "b2"), "Nadam": ("b1", "b2"), "AMSGrad": ("b1", "b2"), "Adadelta": ("b1",)}
#: the lowest J the sweep's axis shows; a run that ends lower is drawn on the floor with a ▼.
J_FLOOR = 1e-32
SECOND_START = {"beale": (-1.0, -1.0), "rosenbrock": (-1.5, 2.0), "saddle": (-1.0, 0.3)}


def make_optimizer(name, log_eta, beta1=0.9, beta2=0.999):
    """The optimizer ``name`` with η = 10**log_eta; β1 is Momentum's and Nesterov's γ, β2 is RMSprop's γ
    (Adadelta, which has no η, takes γ = β1 and ε = min(100 η, 1))."""
    cls = getattr(optim, name)
    eta = 10.0**log_eta
    if name in ("Momentum", "Nesterov"):
        return cls(eta=eta, gamma=beta1)
    if name == "Adadelta":
        return cls(gamma=beta1, eta=min(eta * 100, 1.0))
    if name == "RMSprop":
        return cls(eta=eta, gamma=beta2)
    if name in ("Adam", "AdaMax", "Nadam", "AMSGrad", "AdamW"):
        return cls(eta=eta, beta1=beta1, beta2=beta2)
    return cls(eta=eta)


def _sample(n, first=40, later=40):
    """Indices of a path of n points to keep: every one of the first steps, then log-spaced ones."""
    if n <= first:
        return np.arange(n)
    later = np.geomspace(first, n - 1, later).astype(int)
    return np.unique(np.r_[np.arange(first), later])


def momentum_path(kappa, eta, gamma, n_steps, start=(-1.0, 1.0)):
    """The n_steps + 1 iterates of gdlib's Momentum on J = ½(θ₁² + κθ₂²) (they may grow without bound)."""
    A = np.diag([1.0, float(kappa)])
    opt = optim.Momentum(eta=eta, gamma=gamma)
    theta = np.array(start, dtype=float)
    state = opt.init(theta)
    path = [theta.copy()]
    with np.errstate(all="ignore"):
        for _ in range(n_steps):
            opt.step(theta, A @ theta, state)
            path.append(theta.copy())
    return np.array(path)


def adam_step_lengths(beta1, beta2, grads, eta=0.01, bias_correction=True):
    """|θ_t − θ_{t−1}| of gdlib's Adam fed the gradients ``grads`` (shape (T, 1)), one per step."""
    opt = optim.Adam(eta=eta, beta1=beta1, beta2=beta2, bias_correction=bias_correction)
    theta = np.zeros(1)
    state = opt.init(theta)
    steps = []
    for g in grads:
        before = theta[0]
        opt.step(theta, g, state)
        steps.append(abs(theta[0] - before))
    return np.array(steps)


def _switch(param, table):
    """A Vega expression choosing table[value of param]: (value, result) pairs as nested conditionals."""
    items = list(table.items())
    expr = repr(items[-1][1])
    for key, value in reversed(items[:-1]):
        expr = f"({param} == {key!r} ? {value!r} : {expr})"
    return expr


def _status_text(data, filt, text_expr, y=8):
    return {"data": {"name": data}, "transform": [{"filter": filt}, {"calculate": text_expr, "as": "label"}],
            "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 12, "x": 6, "y": y},
            "encoding": {"text": {"field": "label"}}}


def _ends(data, filt, colour_enc):
    """Start (circle) and end (cross) of each filtered path."""
    layers = []
    for index, shape in (("0", "circle"), ("length(datum.x) - 1", "cross")):
        layers.append({"data": {"name": data},
                       "transform": [{"filter": filt}, {"calculate": f"datum.x[{index}]", "as": "px"},
                                     {"calculate": f"datum.y[{index}]", "as": "py"}],
                       "mark": {"type": "point", "shape": shape, "filled": True, "size": 70, "clip": True,
                                "angle": 45 if shape == "cross" else 0},
                       "encoding": {"x": {"field": "px", "type": "quantitative"},
                                    "y": {"field": "py", "type": "quantitative"}, "color": colour_enc}})
    return layers


def race(surfaces=("beale", "rosenbrock", "saddle"), *, optimizers=RACE_OPTIMIZERS, log_etas=np.arange(-3, 0.01, 0.5),
         beta1s=(0.5, 0.9, 0.99), beta2s=(0.9, 0.99, 0.999), n_steps=500):
    """The optimizer race: one path per choice of surface, optimizer, log10 η, β1/γ, β2 and start."""
    runs, contours, minima, windows = [], [], [], {}
    for sf in surfaces:
        surf = SURFACES[sf]
        windows[sf] = surf.window
        step = max(np.ptp(surf.window[0]), np.ptp(surf.window[1])) / 1000
        contours += vg.contour_rows(surf, surf.window, key={"sf": sf})
        minima += [{"sf": sf, "x": float(m[0]), "y": float(m[1])} for m in surf.minima]
        for s, start in enumerate((surf.start, SECOND_START[sf])):
            for name in optimizers:
                uses = USES[name]
                for e in log_etas:
                    for b1 in beta1s if "b1" in uses else (None,):
                        for b2 in beta2s if "b2" in uses else (None,):
                            opt = make_optimizer(name, e, b1 if b1 is not None else 0.9, b2 or 0.999)
                            run = trajectory(opt, surf, start, n_steps)
                            path = vg.clipped(run.trajectory[_sample(len(run.trajectory))], surf.window)
                            final = float(run.values[-1])
                            runs.append({"sf": sf, "o": name, "e": float(e), "b1": b1, "b2": b2, "s": s,
                                         "x": vg.rounded(path[:, 0], step), "y": vg.rounded(path[:, 1], step),
                                         "J": final if run.status == "ok" and np.isfinite(final) else None,
                                         "st": run.status, "n": len(run.trajectory) - 1})
    filt = " && ".join(["datum.sf == surface", "datum.o == opt", vg.equals("e", "log_eta"), vg.equals("b1", "beta1"),
                        vg.equals("b2", "beta2"), "datum.s == start"])
    colour = {"field": "o", "type": "nominal", "legend": None,
              "scale": {"domain": list(STYLE), "range": [c for c, _ in STYLE.values()]}}
    win = {axis: [{"expr": _switch("surface", {sf: w[i][j] for sf, w in windows.items()})} for j in (0, 1)]
           for i, axis in enumerate("xy")}
    x, y = vg.axis("x", "θ₁", win["x"]), vg.axis("y", "θ₂", win["y"])
    path = vg.line_layer("runs", filt, x, y, width=2.2)
    path["encoding"]["color"] = colour
    params = [vg.select("surface", "surface ", list(surfaces), surfaces[0]),
              vg.select("opt", "optimizer ", list(optimizers), "Adam" if "Adam" in optimizers else optimizers[0]),
              vg.slider("log_eta", "log10 η ", log_etas, -2.0 if -2.0 in log_etas else log_etas[len(log_etas) // 2]),
              vg.select("beta1", "β1 / γ (Momentum, Nesterov) ", beta1s, 0.9 if 0.9 in beta1s else beta1s[0]),
              vg.select("beta2", "β2 (γ of RMSprop) ", beta2s, beta2s[-1]),
              vg.select("start", "start ", [0, 1], 0)]
    params[-1]["bind"]["labels"] = ["standard", "second"]
    layers = [vg.line_layer("contours", "datum.sf == surface", x, y, colour="#888888", width=0.7, opacity=0.6,
                            detail="id"),
              {"data": {"name": "minima"}, "transform": [{"filter": "datum.sf == surface"}],
               "mark": {"type": "point", "shape": "diamond", "filled": True, "size": 120, "color": "black"},
               "encoding": {"x": x, "y": y}},
              path, *_ends("runs", filt, colour),
              _status_text("runs", filt, "datum.o + ' after ' + datum.n + ' steps: ' + (datum.J === null ? "
                           "'diverged' : 'J = ' + format(datum.J, '.3g'))")]
    view = vg.spec(params, {"runs": runs, "contours": contours, "minima": minima},
                   width=520, height=420, layer=layers)
    return vg.Explorer(view, "optimizer race", "gdlib.plots.explorer(surface)")


def momentum(kappas=(10, 100), *, eta_L=np.round(np.arange(0.2, 3.81, 0.2), 2), gammas=np.round(np.arange(0, 0.91, 0.1), 2),
             n_steps=80, start=(-1.0, 1.0)):
    """The heavy ball on J = ½(θ₁² + κθ₂²) (μ = 1, L = κ): path, error and rate for each (η·L, γ, κ).

    The rate and the regime of each direction come from :mod:`gdlib.dynamics`;
    the error curve from gdlib's own Momentum, so the figure shows one against the other.
    """
    runs, rates, contours, tuned = [], [], [], []
    window = ((-1.25, 1.25), (-1.25, 1.25))
    for k in kappas:
        hb, gd = dynamics.optimal_momentum(float(k), 1.0), dynamics.optimal_gd(float(k), 1.0)
        tuned.append({"k": k, "best": f"tuned heavy ball: ρ = {hb.rate:.3f} at η·L = {hb.eta * k:.2f}, "
                                      f"γ = {hb.gamma:.2f}; tuned GD: ρ = {gd.rate:.3f}"})
        contours += vg.contour_rows(lambda X, Y, k=k: 0.5 * (X**2 + k * Y**2), window, levels=10, key={"k": k})
        for hL in eta_L:
            for g in gammas:
                eta = float(hL) / k
                path = momentum_path(k, eta, float(g), n_steps, start)
                err = np.log10(np.maximum(np.linalg.norm(path, axis=1), 1e-300))
                rate = dynamics.momentum_rate(eta, float(g), [1.0, float(k)])
                shown = vg.clipped(path[:60], window)
                runs.append({"k": k, "e": float(hL), "g": float(g), "x": vg.rounded(shown[:, 0], 1e-3),
                             "y": vg.rounded(shown[:, 1], 1e-3), "err": vg.rounded(np.clip(err, -40, 40), 1e-2),
                             "r": round(rate, 4),
                             "reg": f"regime along μ: {dynamics.regime(eta, float(g), 1.0)}, "
                                    f"along L: {dynamics.regime(eta, float(g), float(k))}"})
                rates.append({"k": k, "e": float(hL), "g": float(g), "r": round(min(rate, 1.2), 4)})
    filt = f"datum.k == kappa && {vg.equals('e', 'eta_L')} && {vg.equals('g', 'gamma')}"
    x, y = vg.axis("x", "θ₁", list(window[0])), vg.axis("y", "θ₂", list(window[1]))
    colour = STYLE["Momentum"][0]
    paths = {"width": 250, "height": 250, "layer": [
        vg.line_layer("contours", "datum.k == kappa", x, y, colour="#888888", width=0.7, opacity=0.6, detail="id"),
        vg.line_layer("runs", filt, x, y, colour=colour, width=2),
        *_ends("runs", filt, {"value": colour}),
        _status_text("runs", filt, "'ρ = ' + format(datum.r, '.3f') + (datum.r >= 1 ? ' (diverges)' : '')")]}
    t, err = vg.axis("t", "step t", [0, n_steps]), vg.axis("err", "log10 ‖θ_t‖", [-16, 4])
    steps = [{"filter": filt}, {"calculate": f"sequence(0, {n_steps + 1})", "as": "t"}, {"flatten": ["t", "err"]}]
    measured = {"data": {"name": "runs"}, "transform": steps,
                "mark": {"type": "line", "color": colour, "strokeWidth": 2, "clip": True},
                "encoding": {"x": t, "y": err, "order": {"value": None}}}
    predicted = {"data": {"name": "runs"},
                 "transform": steps + [{"calculate": f"log(datum.r) / LN10 * datum.t + {np.log10(np.hypot(*start)):.6f}",
                                        "as": "pred"}],
                 "mark": {"type": "line", "color": "#000000", "strokeWidth": 1.2, "strokeDash": [4, 3], "clip": True},
                 "encoding": {"x": t, "y": {**err, "field": "pred"}, "order": {"value": None}}}
    curves = {"width": 290, "height": 250, "layer": [measured, predicted]}
    texts = {"width": 580, "height": 34, "view": {"stroke": None},
             "layer": [_status_text("runs", filt, "datum.reg", y=2), _status_text("tuned", "datum.k == kappa", "datum.best", y=18)]}
    # Colour: steps per tenfold error reduction, −1/log10 ρ, on a log scale whose domain follows the κ shown
    # (the rates near 1 that matter at κ = 100 spread out); diverging pairs (ρ ≥ 1) are grey.
    cells = {"x": {"field": "e", "type": "ordinal", "title": "η·L", "axis": {"labelAngle": 0}},
             "y": {"field": "g", "type": "ordinal", "title": "γ", "sort": "descending"}}
    heat = {"width": 580, "height": 150, "data": {"name": "rates"}, "transform": [{"filter": "datum.k == kappa"}],
            "layer": [{"transform": [{"filter": "datum.r < 1"}, {"calculate": "-LN10 / log(datum.r)", "as": "d"}],
                       "mark": "rect", "encoding": {**cells, "color": {
                           "field": "d", "type": "quantitative", "title": ["steps per", "decade", "−1/log10 ρ"],
                           "scale": {"type": "log", "scheme": "viridis", "reverse": True}}}},
                      {"transform": [{"filter": "datum.r >= 1"}], "mark": {"type": "rect", "color": "#bbbbbb"},
                       "encoding": cells},
                      {"transform": [{"filter": "datum.r >= 1"}], "mark": {"type": "text", "text": "×", "color": "#555555"},
                       "encoding": cells},
                      {"transform": [{"filter": filt}], "mark": {"type": "rect", "fill": None, "stroke": "red",
                                                                 "strokeWidth": 2.5},
                       "encoding": {"x": {"field": "e", "type": "ordinal"}, "y": {"field": "g", "type": "ordinal",
                                                                                   "sort": "descending"}}}]}
    params = [vg.slider("eta_L", "η·L ", eta_L, 2.2 if 2.2 in eta_L else eta_L[0]),
              vg.slider("gamma", "γ ", gammas, 0.3 if 0.3 in gammas else gammas[0]),
              vg.select("kappa", "κ = L/μ ", list(kappas), kappas[0])]
    view = vg.spec(params, {"runs": runs, "rates": rates, "contours": contours, "tuned": tuned},
                   vconcat=[{"hconcat": [paths, curves]}, texts, heat], resolve={"scale": {"color": "independent"}})
    return vg.Explorer(view, "momentum on a quadratic", "gdlib.live.momentum()")


def adam_bias(beta1s=(0.5, 0.8, 0.9, 0.95, 0.99), beta2s=(0.9, 0.99, 0.999, 0.9999), *, n_steps=300, eta=0.01,
              seed=0):
    """Adam's step lengths with and without bias correction on one noisy gradient stream, per (β1, β2);
    the slider t marks a step. The ratio is measured; the formula (1 − β1ᵗ)/√(1 − β2ᵗ) is drawn beside it."""
    grads = np.random.default_rng(seed).normal(1.0, 0.5, size=(n_steps, 1))
    rows = []
    for b1 in beta1s:
        for b2 in beta2s:
            lengths = {correct: adam_step_lengths(b1, b2, grads, eta, correct) for correct in (True, False)}
            rows.append({"b1": b1, "b2": b2, "c": vg.rounded(lengths[True] / eta, 1e-4),
                         "u": vg.rounded(lengths[False] / eta, 1e-4)})
    filt = f"{vg.equals('b1', 'beta1')} && {vg.equals('b2', 'beta2')}"
    base = [{"filter": filt}, {"calculate": f"sequence(1, {n_steps + 1})", "as": "t"}, {"flatten": ["t", "c", "u"]},
            {"calculate": "datum.u / datum.c", "as": "measured"},
            {"calculate": "(1 - pow(beta1, datum.t)) / sqrt(1 - pow(beta2, datum.t))", "as": "formula"}]
    t = vg.axis("t", "step t", [1, n_steps])

    def curve(field, colour, dash=None, width=2.0):
        mark = {"type": "line", "color": colour, "strokeWidth": width, "clip": True}
        if dash:
            mark["strokeDash"] = dash
        return {"mark": mark, "encoding": {"x": t, "y": {"field": field, "type": "quantitative"}}}

    rule = {"transform": [{"filter": "datum.t == t_mark"}], "mark": {"type": "rule", "color": "#999999"},
            "encoding": {"x": t}}
    lengths = {"width": 290, "height": 260, "transform": base, "layer": [
        {**curve("c", STYLE["Adam"][0]), "encoding": {"x": t, "y": vg.axis("c", "step length / η", [0.01, 100],
                                                                           log=True)}},
        curve("u", STYLE["RMSprop"][0], [6, 3]), rule,
        {"transform": [{"filter": "datum.t == t_mark"},
                       {"calculate": "'t = ' + datum.t + ': corrected ' + format(datum.c, '.2f') + 'η (solid), '"
                                     " + 'uncorrected ' + format(datum.u, '.2f') + 'η (dashed)'", "as": "label"}],
         "mark": {"type": "text", "align": "left", "baseline": "top", "x": 6, "y": 6}, "encoding": {"text": {"field": "label"}}}]}
    ratio = {"width": 290, "height": 260, "transform": base, "layer": [
        {**curve("measured", "#000000"), "encoding": {"x": t, "y": vg.axis("measured", "uncorrected / corrected",
                                                                             [0.01, 100], log=True)}},
        curve("formula", "#CC6677", [2, 3], 3.0), rule,
        {"transform": [{"filter": "datum.t == t_mark"},
                       {"calculate": "'t = ' + datum.t + ': measured ' + format(datum.measured, '.4f') + ', formula '"
                                     " + format(datum.formula, '.4f')", "as": "label"}],
         "mark": {"type": "text", "align": "left", "baseline": "top", "x": 6, "y": 6}, "encoding": {"text": {"field": "label"}}}]}
    params = [vg.select("beta1", "β1 ", beta1s, 0.9), vg.select("beta2", "β2 ", beta2s, 0.999),
              vg.slider("t_mark", "t ", np.arange(1, n_steps + 1), 10)]
    view = vg.spec(params, {"adam": rows}, data={"name": "adam"}, hconcat=[lengths, ratio])
    return vg.Explorer(view, "Adam's bias correction", "gdlib.live.adam_bias()")


def lr_sweep(optimizers=("SGD", "Momentum", "Adam"), *, log_etas=np.round(np.arange(-5, 0.01, 0.25), 2),
             budgets=(500, 5000), surface="rosenbrock"):
    """The learning-rate sweep on Rosenbrock's valley: J after the budget against η, and the path at the chosen η."""
    surf = SURFACES[surface]
    step = max(np.ptp(surf.window[0]), np.ptp(surf.window[1])) / 1000
    sweep, runs = [], []
    for name in optimizers:
        for e in log_etas:
            run = trajectory(make_optimizer(name, float(e)), surf, None, max(budgets))
            done = len(run.trajectory) - 1
            for b in budgets:
                J = float(run.values[b]) if b <= done and np.isfinite(run.values[b]) else None
                sweep.append({"o": name, "e": float(e), "b": b, "J": J})
            keep = _sample(len(run.trajectory), 30, 60)
            path = vg.clipped(run.trajectory[keep], surf.window)
            runs.append({"o": name, "e": float(e), "k": [int(i) for i in keep[:len(path)]],
                         "x": vg.rounded(path[:, 0], step), "y": vg.rounded(path[:, 1], step)})
    colour = {"field": "o", "type": "nominal", "legend": None,
              "scale": {"domain": list(STYLE), "range": [c for c, _ in STYLE.values()]}}
    e_axis = {"field": "e", "type": "quantitative", "title": "log10 η", "scale": {"domain": [log_etas[0], log_etas[-1]]}}
    finite = [r["J"] for r in sweep if r["J"] is not None and r["J"] > 0]
    floor = max(min(finite), J_FLOOR)
    j_axis = vg.axis("Jp", "J after the budget (× = diverged, ▼ = below the axis)", [floor, max(finite) * 10], log=True)
    mine = "datum.o == opt && datum.b == budget"
    plotted = [{"filter": "datum.J !== null && datum.J > 0"}, {"calculate": f"max(datum.J, {floor!r})", "as": "Jp"}]
    curve = {"width": 290, "height": 290, "data": {"name": "sweep"}, "transform": [{"filter": mine}], "layer": [
        {"transform": plotted,
         "mark": {"type": "line", "point": True, "clip": True}, "encoding": {"x": e_axis, "y": j_axis, "color": colour}},
        {"transform": plotted + [{"filter": f"datum.J < {floor!r}"}],
         "mark": {"type": "point", "shape": "triangle-down", "size": 90, "filled": True, "color": "black"},
         "encoding": {"x": e_axis, "y": j_axis}},
        {"transform": [{"filter": "datum.J === null"}, {"calculate": str(max(finite) * 5), "as": "J"}],
         "mark": {"type": "point", "shape": "cross", "angle": 45, "size": 90, "filled": True, "color": "black"},
         "encoding": {"x": e_axis, "y": {"field": "J", "type": "quantitative"}}},
        {"transform": [{"filter": vg.equals("e", "log_eta")}], "mark": {"type": "rule", "color": "red"},
         "encoding": {"x": e_axis}}]}
    filt = f"datum.o == opt && {vg.equals('e', 'log_eta')}"
    x, y = vg.axis("x", "θ₁", list(surf.window[0])), vg.axis("y", "θ₂", list(surf.window[1]))
    path = {"data": {"name": "runs"}, "transform": [{"filter": filt}, {"flatten": ["k", "x", "y"]},
                                                  {"filter": "datum.k <= budget"}],
            "mark": {"type": "line", "strokeWidth": 2, "clip": True},
            "encoding": {"x": x, "y": y, "color": colour, "order": {"value": None}}}
    label = ("datum.o + ', η = ' + format(pow(10, datum.e), '.2e') + ', ' + datum.b + ' steps: ' + "
             "(datum.J === null ? 'diverged' : 'J = ' + format(datum.J, '.3g'))")
    paths = {"width": 290, "height": 290, "layer": [
        vg.line_layer("contours", None, x, y, colour="#888888", width=0.7, opacity=0.6, detail="id"), path,
        _status_text("sweep", f"{mine} && {vg.equals('e', 'log_eta')}", label)]}
    params = [vg.select("opt", "optimizer ", list(optimizers), optimizers[0]),
              vg.slider("log_eta", "log10 η ", log_etas, -3.0), vg.select("budget", "steps ", list(budgets), budgets[-1])]
    view = vg.spec(params, {"sweep": sweep, "runs": runs, "contours": vg.contour_rows(surf, surf.window)},
                   hconcat=[curve, paths])
    return vg.Explorer(view, "learning-rate sweep", "gdlib.live.lr_sweep()")
