"""A student clicks a chapter's exercise download in the built book and gets a valid notebook.

Headless Chromium, driven over the DevTools protocol, with every host but
127.0.0.1 unresolvable (the book must work offline): it opens the chapter,
clicks the download link and saves the file; nbformat validates what arrived.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import websocket

from test_book import CHROMIUM, HTML_DIR, server  # noqa: F401 (server is a fixture)

pytestmark = [pytest.mark.skipif(not (HTML_DIR / "index.html").exists(), reason="the book is not built: make book"),
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")]


class DevTools:
    """The few DevTools-protocol calls the test needs, on one websocket."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})


def _chromium(profile):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--user-data-dir={profile}",
           "--remote-debugging-port=0", "about:blank"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = Path(profile) / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("Chromium did not open its DevTools port")


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


def test_clicking_an_exercise_download_saves_a_valid_notebook(server, tmp_path):  # noqa: F811
    page, name = next((p, n) for p, n in _chapter_exercises() if p == "adam.html")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    proc, port = _chromium(tmp_path / "profile")
    try:
        version = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10))
        browser = DevTools(version["webSocketDebuggerUrl"])
        browser.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        target = next(t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
                      if t["type"] == "page")
        tab = DevTools(target["webSocketDebuggerUrl"])
        tab.call("Page.enable")
        tab.call("Page.navigate", url=f"{server}/book/{page}")
        for _ in range(100):
            state = tab.call("Runtime.evaluate", expression="document.readyState")["result"]["value"]
            if state == "complete":
                break
            time.sleep(0.1)
        clicked = tab.call("Runtime.evaluate", expression=(
            "(() => { const a = document.querySelector('a.exercise-download'); if (!a) return ''; "
            "a.click(); return a.getAttribute('href'); })()"))["result"]["value"]
        assert clicked.endswith(f"/{name}.ipynb"), clicked
        saved = downloads / f"{name}.ipynb"
        for _ in range(300):
            if saved.exists() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.1)
        assert saved.exists(), f"nothing was downloaded: {list(downloads.iterdir())}"
    finally:
        proc.kill()
        proc.wait()
    notebook = nbformat.read(saved, as_version=4)
    nbformat.validate(notebook)
    sources = "\n".join(c.source for c in notebook.cells)
    assert "raise NotImplementedError()" in sources and "### BEGIN SOLUTION" not in sources  # the release, not the solution
