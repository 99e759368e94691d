"""Prose after a NumPy-style field section stays prose, as ``help()`` shows it.

gdlib's docstrings end some field sections with a plain paragraph at the
margin, for example every optimizer's class docstring::

    Parameters
    ----------
    eta : float
        Learning rate η > 0.

    State: ``m`` (m_t) and ``v`` (v_t), both uncorrected.

napoleon reads a NumPy section up to the next section header, so it would
list "State" as one more parameter. Before napoleon runs, this extension
takes such a closing paragraph (blank line, then a line at the header's
margin that is not a field ``name : type``) off the end of the docstring, and
puts it back after napoleon has laid out the sections. Only the prose after
the *last* section moves, so the order of the text is the docstring's.
"""

from __future__ import annotations

import re

# NumPy sections whose body is a list of fields (name : type, indented text).
FIELD_SECTIONS = {
    "parameters", "other parameters", "returns", "yields", "receives", "raises", "warns",
    "attributes", "keyword arguments", "keyword args",
}
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
# "eta : float", "beta1, beta2 : float", "**evidence", "int"
_FIELD = re.compile(r"^\s*\**[A-Za-z_][\w.]*(\s*,\s*\**[A-Za-z_][\w.]*)*(\s+:(\s.*)?)?$")

_stash = {}


def _indent(line):
    return len(line) - len(line.lstrip())


def trailing_prose(lines):
    """Index where the closing prose after the last field section starts, or None."""
    headers = [i for i in range(len(lines) - 1)
               if lines[i].strip() and _UNDERLINE.match(lines[i + 1])]
    if not headers or lines[headers[-1]].strip().lower() not in FIELD_SECTIONS:
        return None
    last = headers[-1]
    margin = _indent(lines[last])
    for j in range(last + 3, len(lines)):
        line = lines[j]
        if line.strip() and not lines[j - 1].strip() and _indent(line) == margin and not _FIELD.match(line):
            return j
    return None


def stash(app, what, name, obj, options, lines):
    j = trailing_prose(lines)
    if j is not None:
        _stash[id(lines)] = lines[j:]
        del lines[j:]


def restore(app, what, name, obj, options, lines):
    tail = _stash.pop(id(lines), None)
    if tail is not None:
        lines.extend([""] + tail)


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", stash, priority=100)  # napoleon runs at 500
    app.connect("autodoc-process-docstring", restore, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
