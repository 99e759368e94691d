"""gdlib.explore: every setting the controls of a static explorer offer has exactly one precomputed run.

Small grids keep it cheap; tests/test_explorers.py checks the built pages in a browser.
"""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest

import gdlib
from gdlib import explore


def _options(param):
    bind = param["bind"]
    if bind["input"] == "select":
        return bind["options"]
    return list(np.round(np.arange(bind["min"], bind["max"] + bind["step"] / 2, bind["step"]), 10))


def _matches(row, field, value):
    return row[field] is None or abs(row[field] - value) < 1e-9 if not isinstance(value, str) else row[field] == value


@pytest.fixture(scope="module")
def race():
    return explore.race(("saddle", "beale"), optimizers=("SGD", "Momentum", "Adam"), log_etas=[-2.0, -1.5],
                        beta1s=(0.5, 0.9), beta2s=(0.999,), n_steps=50)


def test_race_has_one_run_per_setting_and_runs_are_gdlib_trajectories(race):
    params = {p["name"]: _options(p) for p in race.spec["params"]}
    assert params["start"] == [0, 1] and set(params["opt"]) == {"SGD", "Momentum", "Adam"}
    runs = race.spec["datasets"]["runs"]
    fields = {"surface": "sf", "opt": "o", "log_eta": "e", "beta1": "b1", "beta2": "b2", "start": "s"}
    for values in itertools.product(*params.values()):
        setting = dict(zip(params, values))
        hits = [r for r in runs if all(_matches(r, fields[k], v) for k, v in setting.items())]
        assert len(hits) == 1, (setting, len(hits))
    row = next(r for r in runs if r["sf"] == "saddle" and r["o"] == "Momentum" and r["e"] == -1.5 and r["b1"] == 0.9
               and r["s"] == 0)
    run = gdlib.trajectory(gdlib.Momentum(eta=10**-1.5, gamma=0.9), "saddle", n_steps=50)
    assert row["st"] == run.status and row["J"] == pytest.approx(run.values[-1], rel=1e-12)
    assert np.allclose(row["x"][:5], run.trajectory[:5, 0], atol=2e-3)


def test_explorer_html_is_self_contained(race):
    html = race._repr_html_()
    assert 'class="gd-explorer"' in html and "cdn" not in html.lower() and "http" not in html.replace(
        "https://vega.github.io/schema/vega-lite/v6.json", "")
    data = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S).group(1)
    assert json.loads(data.replace("<\\/", "</")) == race.spec
    assert race.nbytes == len(html.encode())


def test_momentum_rates_come_from_dynamics():
    ex = explore.momentum(kappas=(10,), eta_L=np.array([1.0, 2.0]), gammas=np.array([0.0, 0.5]), n_steps=20)
    for row in ex.spec["datasets"]["runs"]:
        rate = gdlib.dynamics.momentum_rate(row["e"] / 10, row["g"], [1.0, 10.0])
        assert row["r"] == round(rate, 4)
        assert row["err"][20] == pytest.approx(np.log10(np.linalg.norm(
            explore.momentum_path(10, row["e"] / 10, row["g"], 20)[-1])), abs=0.01)


def test_adam_bias_rows_cover_the_menus():
    ex = explore.adam_bias(beta1s=(0.9,), beta2s=(0.99, 0.999), n_steps=20)
    rows = ex.spec["datasets"]["adam"]
    assert [(r["b1"], r["b2"]) for r in rows] == [(0.9, 0.99), (0.9, 0.999)]
    t = np.arange(1, 21)
    for r in rows:
        assert np.allclose(np.array(r["u"]) / np.array(r["c"]), (1 - 0.9**t) / np.sqrt(1 - r["b2"] ** t), rtol=1e-3)


def test_make_optimizer_maps_the_controls():
    opt = explore.make_optimizer("RMSprop", -2.0, 0.5, 0.99)
    assert isinstance(opt, gdlib.RMSprop) and opt.gamma == 0.99 and opt.eta == pytest.approx(0.01)
    assert explore.make_optimizer("Momentum", -1.0, 0.8).gamma == 0.8


def test_adam_bias_axis_holds_every_step():
    ex = explore.adam_bias(beta1s=(0.99,), beta2s=(0.9,), n_steps=12)  # the shortest uncorrected steps of the menus
    low, high = ex.spec["hconcat"][0]["layer"][0]["encoding"]["y"]["scale"]["domain"]
    row = ex.spec["datasets"]["adam"][0]
    assert low <= min(row["u"] + row["c"]) and max(row["u"] + row["c"]) <= high


def test_lr_sweep_axis_reaches_the_best_runs():
    ex = explore.lr_sweep(("Momentum",), log_etas=np.array([-3.0, -2.5]), budgets=(5000,))
    finite = [r["J"] for r in ex.spec["datasets"]["sweep"] if r["J"] is not None]
    curve = ex.spec["hconcat"][0]
    low = curve["layer"][0]["encoding"]["y"]["scale"]["domain"][0]
    assert min(finite) < 1e-16 and low <= max(min(finite), explore.J_FLOOR)
    clamp = curve["layer"][0]["transform"][-1]
    assert clamp == {"calculate": f"max(datum.J, {low!r})", "as": "Jp"}


def test_momentum_heat_map_colours_only_converging_pairs():
    ex = explore.momentum(kappas=(10,), eta_L=np.array([1.0, 3.8]), gammas=np.array([0.0, 0.5]), n_steps=5)
    rates = {(r["e"], r["g"]): r["r"] for r in ex.spec["datasets"]["rates"]}
    assert rates[(3.8, 0.0)] >= 1 > rates[(1.0, 0.5)]
    coloured, grey = ex.spec["vconcat"][2]["layer"][:2]
    assert coloured["transform"][0] == {"filter": "datum.r < 1"} and coloured["encoding"]["color"]["scale"]["type"] == "log"
    assert grey["transform"] == [{"filter": "datum.r >= 1"}] and "color" not in grey["encoding"]
