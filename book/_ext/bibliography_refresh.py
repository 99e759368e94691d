"""Rebuild the bibliography page on every build.

In an incremental build, a chapter that cites a new reference is re-read, but
the page holding the ``{bibliography}`` directive is not, so the new entry's
anchor is missing and the citation link breaks. The page is cheap (nothing
executes), so it is simply always rebuilt.
"""

BIBLIOGRAPHY = "book/bibliography"


def _outdated(app, env, added, changed, removed):
    return [BIBLIOGRAPHY] if BIBLIOGRAPHY in env.found_docs else []


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
