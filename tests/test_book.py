"""The built HTML book: offline assets, typeset math, figures, animations, links.

``make test`` builds the book first (warnings are errors). These tests then
read ``_build/html``, once they have checked that it is the build of the
sources in the working tree (``tools/book_stamp.py``; a stale build fails
with "run make book"): a static pass over every page, and headless Chromium
with every host but 127.0.0.1 unresolvable, which renders each page, checks
that MathJax typeset all math and that animations and widgets came alive,
and keeps a screenshot of each page in ``_build/screenshots`` as an artifact.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import socketserver
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(not (HTML_DIR / "index.html").exists(),
                                reason="the book is not built: run `make book` (make test does)")


def _book_stamp():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_stamp", ROOT / "tools" / "book_stamp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def current_build():
    """Every test here reads _build/html: it must be the build of the sources in
    this working tree (``make book`` records their hashes; see tools/book_stamp.py)."""
    problem = _book_stamp().stale_sources(ROOT, HTML_DIR / ".sources.json")
    if problem:
        pytest.fail(f"_build/html is not the build of this working tree ({problem}): run `make book`",
                    pytrace=False)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.resources = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.resources.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") and "stylesheet" in a.get("rel", ""):
            self.resources.append(a["href"])


@functools.lru_cache(maxsize=None)
def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _pages():
    return sorted(p for p in (HTML_DIR / "book").glob("*.html"))


def _chapters():
    """Pages executed as notebooks (they have a downloadable .ipynb)."""
    return [p for p in _pages() if (HTML_DIR / "_sources" / "book" / (p.stem + ".ipynb")).exists()]


def test_every_page_loads_scripts_styles_and_images_from_the_book_itself():
    for page in _pages() + [HTML_DIR / "index.html"]:
        for src in _parse(page).resources:
            assert not urlsplit(src).scheme and not src.startswith("//"), f"{page.name} loads {src} from the network"
            target = (page.parent / unquote(urlsplit(src).path)).resolve()
            assert target.exists(), f"{page.name}: {src} is missing from the build"


def test_internal_links_and_anchors_resolve():
    checked = 0
    for page in _pages():
        for href in _parse(page).links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("mailto:", "//")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.exists(), f"{page.name} links to missing {href}"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in _parse(target).ids, f"{page.name} links to missing anchor {href}"
            checked += 1
    assert checked > 100


def test_every_chapter_offers_its_notebook_and_has_figures():
    chapters = _chapters()
    assert len(chapters) >= 12
    for page in chapters:
        text = page.read_text(encoding="utf-8")
        assert "download-notebook-button" in text, page.name
        images = [s for s in _parse(page).resources if s.endswith(".png")]
        assert images, f"{page.name} has no figure"


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML_DIR))

    class Quiet(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    handler.log_message = lambda *a, **k: None
    httpd = Quiet(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _render(url, shot, tmp_path):
    """The DOM after scripts ran (network blocked but for 127.0.0.1), and a screenshot."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-quic",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--user-data-dir={tmp_path}",
           "--window-size=1280,1600", "--virtual-time-budget=20000", f"--screenshot={shot}", "--dump-dom", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_pages_render_offline_with_typeset_math_animations_and_widgets(server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = _pages()
    animated = widgets = 0
    for page in pages:
        source = page.read_text(encoding="utf-8")
        dom = _render(f"{server}/book/{page.name}", SHOTS / f"{page.stem}.png", tmp_path / page.stem)
        n_math = len(re.findall(r'class="math[ "]', source))
        if n_math:
            assert dom.count("<mjx-container") >= n_math, f"{page.name}: math left untypeset"
        assert "Math input error" not in dom, f"{page.name}: MathJax could not parse some TeX"
        if "animation" in source and "_anim_img" in source:
            # the player's script set the first frame as an inline image
            assert re.search(r'<img[^>]+id="_anim_img[^"]*"[^>]+src="data:image/jpeg;base64', dom), page.name
            animated += 1
        if "application/vnd.jupyter.widget-state+json" in source:
            assert "widget-slider" in dom or "widget-dropdown" in dom, f"{page.name}: widgets did not render"
            widgets += 1
        assert (SHOTS / f"{page.stem}.png").stat().st_size > 10_000
    assert animated >= 1
