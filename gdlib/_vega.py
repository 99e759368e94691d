"""The pieces of a static explorer: a Vega-Lite specification rendered as HTML.

A static explorer holds data that gdlib computed for every point of a grid of
the controls; its sliders and menus are Vega-Lite parameters that filter those
data in the browser, so moving them works on a static page with no kernel.
The book serves Vega, Vega-Lite and vega-embed itself (book/_ext/explorers.py
loads them on the pages whose HTML carries ``class="gd-explorer"``).
"""

from __future__ import annotations

import html
import itertools
import json
import zlib

import numpy as np

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier; never fetched
_ids = itertools.count()


class Explorer:
    """A Vega-Lite specification that displays itself as HTML in the book.

    ``nbytes`` is the size of that HTML: what the explorer adds to its page.
    Outside the book (in a notebook) the Vega scripts are missing, and the
    HTML says so and points to the live explorer.
    """

    def __init__(self, spec, title, live):
        self.spec = spec
        self.title = title
        self.live = live
        self._html = None

    def _repr_html_(self):
        if self._html is None:
            uid = f"gd-explorer-{next(_ids)}-{zlib.crc32(self.title.encode()):08x}"
            data = json.dumps(self.spec, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
            message = html.escape(f"This explorer runs in the built book. In a notebook, call {self.live} "
                                  "for the live version.")
            self._html = (
                f'<div class="gd-explorer" id="{uid}" aria-label="{html.escape(self.title)}"><div></div></div>\n'
                f'<script type="application/json" id="{uid}-spec">{data}</script>\n'
                "<script>(function () {\n"
                f'  var box = document.getElementById("{uid}");\n'
                "  if (typeof vegaEmbed === 'undefined') { box.textContent = \"" + message + "\"; return; }\n"
                f'  var spec = JSON.parse(document.getElementById("{uid}-spec").textContent);\n'
                "  vegaEmbed(box.firstChild, spec, {renderer: 'svg', actions: false})\n"
                "    .catch(function (e) { console.error(e); box.textContent = 'explorer failed: ' + e; });\n"
                "})();</script>"
            )
        return self._html

    @property
    def nbytes(self):
        return len(self._repr_html_().encode())


def select(name, label, options, value):
    """A parameter bound to a drop-down menu."""
    options = [_plain(o) for o in options]
    return {"name": name, "value": _plain(value), "bind": {"input": "select", "options": options, "name": label}}


def slider(name, label, values, value):
    """A parameter bound to a slider over the evenly spaced grid ``values``."""
    values = np.asarray(values, dtype=float)
    step = float(np.round(values[1] - values[0], 10)) if values.size > 1 else 1.0
    return {"name": name, "value": _plain(value),
            "bind": {"input": "range", "min": float(values[0]), "max": float(values[-1]), "step": step, "name": label}}


def equals(field, param):
    """A filter test: ``datum[field]`` is the parameter's value (numbers within 1e-9); null fields match any."""
    return f"(datum.{field} === null || datum.{field} == {param} || abs(datum.{field} - {param}) < 1e-9)"


def _plain(x):
    if isinstance(x, (np.floating, float)):
        return float(np.round(x, 10))
    if isinstance(x, np.integer):
        return int(x)
    return x


def rounded(values, step):
    """Values as a list of floats rounded to a multiple of ``step`` (keeps the JSON small); inf/NaN → None."""
    values = np.asarray(values, dtype=float)
    decimals = max(0, int(np.ceil(-np.log10(step))))
    return [None if not np.isfinite(v) else round(float(v), decimals) for v in values]


def clipped(points, window, margin=0.5):
    """Points clipped to ``window`` enlarged by ``margin`` of its size (a diverged path leaves the frame)."""
    (x0, x1), (y0, y1) = window
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    p = np.asarray(points, dtype=float)
    p = p[np.all(np.isfinite(p), axis=1)]
    return np.column_stack([np.clip(p[:, 0], x0 - dx, x1 + dx), np.clip(p[:, 1], y0 - dy, y1 + dy)])


def contour_rows(fn, window, *, levels=14, n=120, key=None):
    """Contour lines of ``fn(X, Y)`` over ``window`` at log-spaced levels above its minimum on the grid,
    as rows {"id", "x": [...], "y": [...]} (plus ``key`` fields), for a line layer."""
    import contourpy

    (x0, x1), (y0, y1) = window
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    with np.errstate(all="ignore"):
        Z = np.asarray(fn(X, Y), dtype=float)
    finite = np.isfinite(Z)
    shifted = Z - Z[finite].min() + 1e-3 * (np.ptp(Z[finite]) + 1e-12)
    lv = np.geomspace(shifted[finite].min() * 1.5, shifted[finite].max(), levels)
    gen = contourpy.contour_generator(X, Y, np.where(finite, shifted, np.nan))
    step = max(x1 - x0, y1 - y0) / 400
    rows = []
    for level in lv:
        for line in gen.lines(level):
            stride = max(1, len(line) // 60)
            line = np.vstack([line[::stride], line[-1:]])
            rows.append({**(key or {}), "id": len(rows), "x": rounded(line[:, 0], step), "y": rounded(line[:, 1], step)})
    return rows


def line_layer(data, filt, x, y, *, colour="#000000", width=2.0, dash=None, opacity=1.0, detail=None, extra=()):
    """A line through the arrays ``x`` and ``y`` of each row that passes ``filt``, in stored order."""
    transform = ([{"filter": filt}] if filt else []) + list(extra) + [{"flatten": [x["field"], y["field"]]}]
    mark = {"type": "line", "color": colour, "strokeWidth": width, "opacity": opacity, "clip": True}
    if dash:
        mark["strokeDash"] = dash
    encoding = {"x": x, "y": y, "order": {"value": None}}
    if detail:
        encoding["detail"] = {"field": detail, "type": "nominal"}
    return {"data": {"name": data}, "transform": transform, "mark": mark, "encoding": encoding}


def axis(field, title, domain, *, log=False):
    """A quantitative position channel with a fixed domain (the frame does not jump as controls move)."""
    scale = {"domain": domain, "nice": False, **({"type": "log"} if log else {"zero": False})}
    return {"field": field, "type": "quantitative", "title": title, "scale": scale}


def spec(params, datasets, **view):
    """The top-level specification: parameters (the controls), named datasets and the view."""
    return {"$schema": SCHEMA, "params": params, "datasets": datasets,
            "config": {"view": {"stroke": "#ccc"}, "axis": {"grid": False}}, **view}
