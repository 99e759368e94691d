"""Load Vega, Vega-Lite and vega-embed on the pages that show a static explorer.

A static explorer (``gdlib.explore``) is an HTML output carrying the class
``gd-explorer``: a Vega-Lite specification whose data were computed by gdlib
at build time over a grid of the controls, and whose sliders and menus filter
those data in the browser, with no kernel behind the page. The three scripts
are served by the book itself (``book/_ext/vendor_assets.py`` copies them into
``_static/vendor/vega``), so the page reads offline, and only the pages with
an explorer load them. They load before RequireJS (the widget renderer), which
would otherwise capture their UMD bundles as anonymous AMD modules.
"""

from __future__ import annotations

SCRIPTS = ["vendor/vega/vega.min.js", "vendor/vega/vega-lite.min.js", "vendor/vega/vega-embed.min.js"]
MARKER = 'class="gd-explorer"'


def _add_scripts(app, pagename, templatename, context, doctree):
    if MARKER in context.get("body", ""):
        for script in SCRIPTS:
            app.add_js_file(script, priority=200)


def setup(app):
    app.connect("html-page-context", _add_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
