"""Pictures: fixed colour-blind-safe style, paths, animations that play in static HTML, explorer."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402

import gdlib  # noqa: E402
from gdlib import plots  # noqa: E402


def test_every_optimizer_has_its_own_fixed_style():
    names = [c.__name__ for c in gdlib.ALL]
    assert set(plots.STYLE) == set(names)
    assert len({plots.STYLE[n][0] for n in names}) == len(names)  # distinct colours
    assert plots.style_for("Nesterov (shifted)") == plots.STYLE["Nesterov"]
    assert plots.style_for("Nadam, dozat") == plots.STYLE["Nadam"]  # longest name wins over "Nesterov"...
    assert plots.style_for("AdaMax") != plots.style_for("Adam")  # ... and over "Adam"


def test_paths_draws_each_run_in_its_colour():
    runs = {"Adam": gdlib.trajectory(gdlib.Adam(eta=0.05), "beale", n_steps=50),
            "SGD": gdlib.trajectory(gdlib.SGD(eta=1e-3), "beale", n_steps=50)}
    ax = plots.paths("beale", runs)
    drawn = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    assert set(drawn) == {"Adam", "SGD"}
    for label, line in drawn.items():
        assert mcolors.same_color(line.get_color(), plots.STYLE[label][0])
        np.testing.assert_array_equal(line.get_xydata(), runs[label].trajectory)
    plt.close("all")


def test_animation_is_self_contained_html_with_every_frame():
    runs = {"Adam": gdlib.trajectory(gdlib.Adam(eta=0.05), "saddle", n_steps=200)}
    anim = plots.animate("saddle", runs, frames=12)
    html = plots.to_html(anim)
    assert "<script" in html and "http" not in html  # no CDN: the player must work offline
    assert html.count("data:image/jpeg;base64") == 12


def test_sweep_marks_diverged_runs():
    ax = plots.sweep([1e-3, 1e-2, 1e-1], {"SGD": [1.0, 0.5, np.inf]})
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == 1e-1
    plt.close("all")


def test_explorer_builds_and_redraws_when_a_control_changes(monkeypatch):
    pytest.importorskip("ipywidgets")
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    box = plots.explorer("beale", n_steps=50)
    assert len(shown) == 1
    dropdown = box.children[0].children[0]
    dropdown.value = "Nesterov"
    assert len(shown) == 2
    title = [t.get_text() for t in shown[-1].axes[0].get_legend().get_texts()]
    assert title[0].startswith("Nesterov")
    plt.close("all")
