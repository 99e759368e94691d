"""The static explorers work on the built, offline page: moving a control changes the plotted data.

One headless Chromium (DevTools protocol, every host but 127.0.0.1 unresolvable)
opens each page with an explorer (gdlib.explore), moves its first slider with
the arrow keys and picks the next entry of its first menu (trusted keyboard
events, as a reader's), and checks after each move that the figure's SVG
changed, that no console error or uncaught exception appeared and that every
request stayed on the book's own server. Screenshots of each explorer before
and after go to _build/screenshots/explorer-*.png.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

import pytest

from browser import CHROMIUM, DevTools, chromium, serve

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PAGES = ["visualization", "momentum-dynamics", "adam", "challenges"]
MAX_EXPLORER_BYTES = 1_000_000
MAX_SITE_BYTES = 60_000_000

pytestmark = [pytest.mark.skipif(not (HTML_DIR / "index.html").exists(), reason="the book is not built: make book"),
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")]

# The plotted data: every path, symbol and text of the explorer's SVG.
SIGNATURE = """(() => { const svg = document.querySelector('.gd-explorer svg'); if (!svg) return '';
  return Array.from(svg.querySelectorAll('path, text')).map(e => (e.getAttribute('d') || '') + e.textContent
    + (e.getAttribute('transform') || '')).join('|'); })()"""


def _evaluate(tab, expression):
    return tab.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def _wait(tab, expression, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = _evaluate(tab, expression)
        if value:
            return value
        time.sleep(0.1)
    return None


KEY_CODES = {"ArrowRight": 39, "ArrowDown": 40}


def _key(tab, key):
    """A real key press (trusted keydown and keyup events) on the focused element."""
    for kind in ("rawKeyDown", "keyUp"):
        tab.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=KEY_CODES[key])


def _screenshot(tab, path):
    """The explorer, centred in the 1400x1000 viewport (clear of the theme's sticky header)."""
    x, y, w, h = _evaluate(tab, "(() => { const e = document.querySelector('.gd-explorer'); "
                                "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); "
                                "return [r.x + scrollX, r.y + scrollY, r.width, r.height]; })()")
    shot = tab.call("Page.captureScreenshot", format="png",
                    clip={"x": x, "y": y, "width": max(w, 1), "height": max(h, 1), "scale": 1})
    path.write_bytes(base64.b64decode(shot["data"]))


def _move(tab, selector, key):
    """Focus the explorer's first control matching ``selector`` and press ``key``; the new signature."""
    before = _evaluate(tab, SIGNATURE)
    found = _evaluate(tab, f"(() => {{ const c = document.querySelector('.gd-explorer {selector}'); "
                           "if (!c) return false; c.scrollIntoView(); c.focus(); return document.activeElement === c; })()")
    assert found, f"no focusable {selector} in the explorer"
    _key(tab, key)
    return _wait(tab, f"(() => {{ const s = {SIGNATURE}; return s && s !== {json.dumps(before)} ? s : ''; }})()", 10)


def _problems(tab, base):
    errors, outside = [], []
    for event in tab.events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} ({params['entry'].get('url', '').replace(base, '')})")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith((base, "data:", "blob:", "about:")):
                outside.append(url)
    return errors, outside


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("profile")
    proc, port = chromium(profile)
    try:
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        tab = DevTools(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        tab.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        with serve(HTML_DIR) as base:
            yield tab, base
    finally:
        proc.kill()
        proc.wait()


def _open(tab, base, page):
    tab.events.clear()
    tab.call("Page.navigate", url=f"{base}/book/{page}.html")
    _wait(tab, "document.readyState === 'complete'")


@pytest.fixture(scope="module")
def theme_errors(browser):
    """The console errors of a page with no explorer (the theme's own, e.g. its favicon's 404):
    an explorer page may have these, and no other."""
    tab, base = browser
    _open(tab, base, "intro")
    time.sleep(1.0)
    return set(_problems(tab, base)[0])


@pytest.mark.parametrize("page", PAGES)
def test_moving_each_kind_of_control_changes_the_plot_offline(browser, theme_errors, page):
    tab, base = browser
    _open(tab, base, page)
    assert _wait(tab, "typeof vegaEmbed === 'function' && document.readyState === 'complete'"), \
        "the Vega scripts did not load from the book's own _static"
    assert _wait(tab, SIGNATURE), f"{page}: the explorer drew nothing"
    SHOTS.mkdir(parents=True, exist_ok=True)
    _screenshot(tab, SHOTS / f"explorer-{page}-before.png")
    moved = _move(tab, "input[type=range]", "ArrowRight")
    assert moved, f"{page}: moving the slider did not change the plotted data"
    _screenshot(tab, SHOTS / f"explorer-{page}-slider.png")
    picked = _move(tab, "select", "ArrowDown")
    assert picked, f"{page}: picking another menu entry did not change the plotted data"
    _screenshot(tab, SHOTS / f"explorer-{page}-menu.png")
    errors, outside = _problems(tab, base)
    new = [e for e in errors if e not in theme_errors]
    assert not new, f"{page}: console errors {new} (a page without explorer has only {sorted(theme_errors)})"
    assert not outside, f"{page}: requests left the book: {outside}"


def test_explorers_and_site_stay_light():
    sizes = {}
    for page in PAGES:
        text = (HTML_DIR / "book" / f"{page}.html").read_text(encoding="utf-8")
        start = text.index('class="gd-explorer"')
        end = text.index("</script>", text.index("</script>", start) + 1) + len("</script>")
        sizes[page] = len(text[start:end].encode())
    assert all(0 < n < MAX_EXPLORER_BYTES for n in sizes.values()), sizes
    site = sum(f.stat().st_size for f in HTML_DIR.rglob("*") if f.is_file())
    assert site < MAX_SITE_BYTES, f"the built site weighs {site / 1e6:.1f} MB"
