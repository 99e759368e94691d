"""Offer every executed page as a Jupyter notebook (.ipynb) in the download menu.

MyST-NB executes each MyST Markdown notebook and keeps the executed .ipynb in
``_build/jupyter_execute``. This extension copies it next to the page sources
in the HTML output and tells sphinx-book-theme's download button about it
(the theme reads ``ipynb_source`` from the page context).
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _executed(app, docname):
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"


def _page_context(app, pagename, templatename, context, doctree):
    if _executed(app, pagename).is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for docname in app.env.found_docs:
        src = _executed(app, docname)
        if src.is_file():
            dst = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def setup(app):
    # before the theme builds its header buttons (default priority 500)
    app.connect("html-page-context", _page_context, priority=400)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
