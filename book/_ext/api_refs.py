"""Cross-references in gdlib's docstrings, linked to where the API page documents them.

A docstring names an object as its own module sees it: ``:meth:`Optimizer.step```
in ``gdlib/optim/loop.py``, ``:class:`gdlib.optim.RunResult``` in
``gdlib/trajectory.py``, ``:meth:`Nesterov.lookahead``` in
``gdlib/optim/nesterov.py``. ``book/api.md`` documents each object once, under
its public name (``gdlib.Optimizer.step``, ``gdlib.RunResult``,
``gdlib.Nesterov.lookahead``), and Sphinx finds a reference only under the
documented name.

When Sphinx cannot resolve a Python reference, this extension looks the name
up in Python instead: in the referring class, its module, then the module's
parent packages (as ``gdlib.optim.loop`` sees ``Optimizer`` through
``gdlib.optim``), and links to the documented name of that same object.
Nothing is guessed: a name that is not a documented object stays unresolved,
and fails the nitpicky ``-W -n`` build.

Docstrings also name the book's equations in plain text, ``(book: eq-gd)``
or ``(book: eq-adam-moments, eq-adam-update)``, so that the source reads
well where a chapter includes it. On the API page each label becomes an
``:eq:`` reference to the numbered equation (an unknown label fails the build).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys

from sphinx.util.nodes import make_refnode

_PRIMITIVES = (int, float, complex, str, bytes, bool, type(None))


def _lookup(name):
    """(parent, attribute, object) for a dotted name as Python sees it, or None.

    The last name is an attribute if there is one (``gdlib.train`` is the
    function, as ``import gdlib; gdlib.train`` gives); a name with more after
    it is a module if there is one (``gdlib.train.TrainResult``).
    """
    parts = name.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except Exception:
        return None
    parent, attr = None, parts[0]
    for i, part in enumerate(parts[1:], start=1):
        parent, attr = obj, part
        so_far = ".".join(parts[: i + 1])
        if i < len(parts) - 1 and inspect.ismodule(obj) and inspect.ismodule(sys.modules.get(so_far)):
            obj = sys.modules[so_far]
            continue
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        if not inspect.ismodule(obj):
            return None
        try:
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except Exception:
            return None
    return parent, attr, obj


def _key(name):
    """What identifies the object: itself for modules, classes and functions,
    (owner, attribute) for members and for plain values (small ints are shared)."""
    found = _lookup(name)
    if found is None:
        return None
    parent, attr, obj = found
    if inspect.isclass(parent) or isinstance(obj, _PRIMITIVES):
        return ("member", id(parent), attr)
    return ("object", id(obj))


def _documented(domain):
    """Key of every object the Python domain documents -> its documented name."""
    keys = {}
    for name, entry in domain.objects.items():
        if entry.aliased or not name.startswith("gdlib"):
            continue
        key = _key(name)
        if key is not None:
            keys.setdefault(key, name)
    return keys


def _candidates(target, module, cls):
    target = target.lstrip(".~")
    scopes = []
    if module and cls:
        scopes.append(f"{module}.{cls}")
    if module:
        parts = module.split(".")
        scopes += [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    return [f"{scope}.{target}" for scope in scopes] + [target]


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    cache = env.temp_data.setdefault("api_refs", {})
    if cache.get("n_objects") != len(domain.objects):
        cache.update(n_objects=len(domain.objects), keys=_documented(domain))
    for candidate in _candidates(node["reftarget"], node.get("py:module"), node.get("py:class")):
        if not candidate.startswith("gdlib"):
            continue
        key = _key(candidate)
        name = cache["keys"].get(key) if key else None
        if name is not None:
            entry = domain.objects[name]
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)
    return None


_BOOK_EQ = re.compile(r"\(book: (eq-[\w-]+(?:, eq-[\w-]+)*)\)")


def equation_refs(text):
    """``(book: eq-a, eq-b)`` as ``(the book's equations :eq:`eq-a`, :eq:`eq-b`)``; other text unchanged."""
    def link(match):
        labels = match.group(1).split(", ")
        noun = "equation" if len(labels) == 1 else "equations"
        return f"(the book's {noun} " + ", ".join(f":eq:`{label}`" for label in labels) + ")"
    return _BOOK_EQ.sub(link, text)


def link_equations(app, what, name, obj, options, lines):
    lines[:] = [equation_refs(line) for line in lines]


def setup(app):
    app.connect("missing-reference", resolve)
    app.connect("autodoc-process-docstring", link_equations)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
