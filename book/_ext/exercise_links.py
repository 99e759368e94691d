"""Turn each chapter's mention of its exercise notebook into a download of the released notebook.

A chapter names its autograded exercise as an inline literal, for example
```exercises/adam_family/adam_family.ipynb```. This extension replaces every
such literal with a download link to that file, which Sphinx copies into the
built site (``_downloads/``), so the link works on the published page and
offline. Only the released notebooks in ``exercises/`` qualify (never
``solutions/``); a literal naming a notebook that does not exist is a build
warning, hence an error under ``-W``.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

EXERCISE = re.compile(r"^exercises/([a-z0-9_]+)/([a-z0-9_]+)\.ipynb$")


def _link_exercises(app, doctree):
    root = Path(app.srcdir)
    for literal in list(doctree.findall(nodes.literal)):
        text = literal.astext()
        match = EXERCISE.match(text)
        if not match:
            continue
        if not (root / text).is_file():
            logger.warning(f"the page names the exercise {text}, which is not in exercises/ "
                           "(run `python -m autograde release`)", location=literal)
            continue
        # a leading slash: relative to the book's source directory (the repository root)
        reference = addnodes.download_reference("", "", refdoc=app.env.docname, reftarget=f"/{text}",
                                                refexplicit=True, classes=["exercise-download"])
        reference += nodes.literal(text, f"{match.group(2)}.ipynb")
        literal.replace_self(reference)


def setup(app):
    # before Sphinx's download collector (priority 500) notes the file and copies it into _downloads/
    app.connect("doctree-read", _link_exercises, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
