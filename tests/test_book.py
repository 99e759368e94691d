"""The built HTML book: offline assets, typeset math, figures, animations, links.

``make test`` builds the book first (warnings are errors). These tests then
read ``_build/html``: a static pass over every page, and headless Chromium with
every host but 127.0.0.1 unresolvable, which renders each page, checks that
MathJax typeset all math and that animations and widgets came alive, and keeps
a screenshot of each page in ``_build/screenshots`` as an artifact.
"""

from __future__ import annotations

import functools
import html
import pydoc
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from browser import CHROMIUM, render, serve

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.skipif(not (HTML_DIR / "index.html").exists(),
                                reason="the book is not built: run `make book` (make test does)")


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
    with serve(HTML_DIR) as url:
        yield url


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_pages_render_offline_with_typeset_math_animations_and_widgets(server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = _pages()
    animated = widgets = 0
    for page in pages:
        source = page.read_text(encoding="utf-8")
        dom = render(f"{server}/book/{page.name}", SHOTS / f"{page.stem}.png", tmp_path / page.stem)
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


API = HTML_DIR / "book" / "api.html"


def _entry_text(page_html, object_id):
    """The text of an autodoc entry: from its signature to the next signature, tags stripped."""
    start = page_html.index(f'id="{object_id}"')
    end = page_html.find('<dt class="sig', start + 1)
    text = re.sub(r"<[^>]+>", "", page_html[start:end if end > 0 else None])
    return " ".join(html.unescape(text).split())


def _rendered(line):
    """A docstring line as it reads on the page: ``literal`` markup gone."""
    assert "`" not in line.replace("``", ""), f"extend _rendered for roles in {line!r}"
    return " ".join(line.replace("``", "").split())


def test_api_reference_shows_every_optimizer_as_help_does():
    """book/api.md is generated from gdlib's docstrings: every optimizer of gdlib.ALL has its
    module's update rule, its class docstring (first line as help() prints it) and its methods."""
    import gdlib

    assert API in _pages(), "the API reference is not built (is book/api in _toc.yml?)"
    page = API.read_text(encoding="utf-8")
    ids = _parse(API).ids
    for cls in gdlib.ALL:
        name = f"gdlib.{cls.__name__}"
        assert name in ids, f"{name} is not documented on the API page"
        first = pydoc.getdoc(cls).splitlines()[0]
        assert first == cls.__doc__.strip().splitlines()[0]
        assert _rendered(first) in _entry_text(page, name), f"{name}: the page does not show {first!r}"
        module = sys.modules[cls.__module__]
        assert f"module-{module.__name__}" in ids, f"{module.__name__}'s update rule is not on the page"
        for method in ("init", "step", "lookahead", "hyperparameters"):
            assert f"{name}.{method}" in ids, f"{name}.{method} is not documented"
            doc = pydoc.getdoc(getattr(cls, method)).splitlines()[0]
            assert _rendered(doc) in _entry_text(page, f"{name}.{method}"), f"{name}.{method}"
    for name in ("gdlib.State", "gdlib.run_compiled", "gdlib.RunResult", "gdlib.trajectory", "gdlib.train.train",
                 "gdlib.train.TrainResult", "gdlib.train.epoch_order", "module-gdlib.schedules", "module-gdlib.models",
                 "gdlib.models.check_gradient", "module-gdlib.surfaces", "module-gdlib.data",
                 "module-gdlib.claims", "module-gdlib.parallel", "gdlib.parallel.downpour_on_dask"):
        assert name in ids, f"{name} is not documented on the API page"
    assert "help(gdlib.Adam)" in page, "the note on how the page is made is missing"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_api_reference_math_is_typeset(server, tmp_path):
    """The API page's symbol table is TeX typeset by the book's MathJax (the docstrings themselves
    write their symbols in Unicode, which needs no typesetting)."""
    source = API.read_text(encoding="utf-8")
    n_math = len(re.findall(r'class="math[ "]', source))
    assert n_math >= 10
    dom = render(f"{server}/book/api.html", tmp_path / "api.png", tmp_path / "profile")
    assert dom.count("<mjx-container") >= n_math, "API reference: math left untypeset"
    assert "Math input error" not in dom
