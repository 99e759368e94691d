"""Feedback pages that read well offline.

nbgrader's ``generate_feedback`` renders each autograded notebook with its
``feedback`` template, which loads MathJax 2 from a CDN (it calls nbconvert's
``mathjax()`` macro without a URL, so ``HTMLExporter.mathjax_url`` changes
nothing). The course's ``nbgrader_config.py`` calls :func:`configure`, which
renders with ``templates/feedback_offline``: nbgrader's template, with a
``mathjax`` macro that loads MathJax 3 from ``feedback/_static/mathjax`` by a
relative URL, and scores printed with two decimals like the reports
(:func:`autograde.checker.format_score`). :func:`install_mathjax` puts that
copy there: the MathJax the book vendors (``book/_static/vendor/mathjax``,
built by ``make book`` from the npm versions pinned in
``book/_assets/package-lock.json``). Hand out the ``feedback/`` directory as a
whole, ``_static`` included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .checker import format_score

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "feedback_offline"
MATHJAX_SOURCE = Path(__file__).resolve().parents[1] / "book" / "_static" / "vendor" / "mathjax"
STATIC = "_static"  # feedback/_static/mathjax/tex-chtml-full.js, as the template's URL says


def two_decimals(value, precision=2, method="common"):
    """Jinja's ``round`` in the feedback template: the score as the reports show it."""
    return format_score(value)


def configure(c):
    """Set up nbgrader's feedback converter (``c`` is the nbgrader configuration)."""
    import nbgrader

    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    c.HTMLExporter.template_name = TEMPLATE_NAME
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates)]
    c.HTMLExporter.filters = {"round": f"{__name__}.two_decimals"}


def install_mathjax(feedback_dir, source=MATHJAX_SOURCE):
    """Copy MathJax into ``feedback_dir/_static/mathjax`` (once; again if the source is newer)."""
    source = Path(source)
    if not (source / "tex-chtml-full.js").exists():
        raise FileNotFoundError(f"{source} has no MathJax: run `make book` (or `npm ci --prefix book/_assets "
                                f"--ignore-scripts && python book/_ext/vendor_assets.py`) to vendor it")
    target = Path(feedback_dir) / STATIC / "mathjax"
    stamp = target / "tex-chtml-full.js"
    if stamp.exists() and stamp.stat().st_mtime >= (source / "tex-chtml-full.js").stat().st_mtime:
        return target
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target
