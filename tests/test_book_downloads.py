"""A student clicks a chapter's exercise download in the built book and gets a valid notebook.

Headless Chromium, driven over the DevTools protocol, with every host but
127.0.0.1 unresolvable (the book must work offline): it opens the chapter,
clicks the download link and saves the file; nbformat validates what arrived.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from browser import CHROMIUM, DevTools, chromium, serve

HTML_DIR = Path(__file__).resolve().parents[1] / "_build" / "html"

pytestmark = [pytest.mark.skipif(not (HTML_DIR / "index.html").exists(), reason="the book is not built: make book"),
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")]


def _chapter_exercises():
    """(chapter page, notebook name) for every chapter that links an exercise."""
    found = []
    for page in sorted((HTML_DIR / "book").glob("*.html")):
        for name in re.findall(r'class="exercise-download[^"]*"[^>]*href="[^"]*/([a-z_]+)\.ipynb"',
                               page.read_text(encoding="utf-8")):
            found.append((page.name, name))
    return found


def test_chapters_with_exercises_link_the_released_notebooks():
    linked = {name for _, name in _chapter_exercises()}
    released = {p.parent.name for p in (HTML_DIR.parents[1] / "exercises").glob("*/*.ipynb")}
    assert linked == released, f"linked {sorted(linked)}, released {sorted(released)}"


def _click_download(url, downloads, profile):
    """Open ``url``, click its first exercise download, and wait for the file; returns the link's href."""
    proc, port = chromium(profile)
    try:
        version = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10))
        browser = DevTools(version["webSocketDebuggerUrl"])
        browser.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        tab = DevTools(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        tab.call("Page.enable")
        tab.call("Page.navigate", url=url)
        for _ in range(100):
            if tab.call("Runtime.evaluate", expression="document.readyState")["result"]["value"] == "complete":
                break
            time.sleep(0.1)
        href = tab.call("Runtime.evaluate", expression=(
            "(() => { const a = document.querySelector('a.exercise-download'); if (!a) return ''; "
            "a.click(); return a.getAttribute('href'); })()"))["result"]["value"]
        name = href.rsplit("/", 1)[-1]
        for _ in range(300):
            if name and (downloads / name).exists() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.1)
        return href
    finally:
        proc.kill()
        proc.wait()


def test_clicking_an_exercise_download_saves_a_valid_notebook(tmp_path):
    page, name = next((p, n) for p, n in _chapter_exercises() if p == "adam.html")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with serve(HTML_DIR) as server:
        href = _click_download(f"{server}/book/{page}", downloads, tmp_path / "profile")
    assert href.endswith(f"/{name}.ipynb"), href
    saved = downloads / f"{name}.ipynb"
    assert saved.exists(), f"nothing was downloaded: {list(downloads.iterdir())}"
    notebook = nbformat.read(saved, as_version=4)
    nbformat.validate(notebook)
    sources = "\n".join(c.source for c in notebook.cells)
    assert "raise NotImplementedError()" in sources and "### BEGIN SOLUTION" not in sources  # the release
